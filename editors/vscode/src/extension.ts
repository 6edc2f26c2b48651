// copilot-index for VS Code: starts the copilot-lsp language server for the workspace, shows its inline
// completions as VS Code's ghost text, and adds search, reindex, adapter training, status and sources.
import * as vscode from "vscode";

import { ServerClient } from "./client";
import { COMMANDS, registerCommands } from "./commands";
import { serverSettingKeys, type Manifest } from "./core/settings";
import { StatusBar } from "./statusBar";
import { registerWarming } from "./warm";

let server: ServerClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("copilot-index", { log: true });
  const statusBar = new StatusBar(COMMANDS.status);
  const keys = serverSettingKeys(context.extension.packageJSON as Manifest);
  server = new ServerClient(keys, log, statusBar);
  const running = server;
  context.subscriptions.push(
    log,
    statusBar,
    running,
    ...registerCommands(running),
    ...registerWarming(running),
    vscode.workspace.onDidChangeConfiguration((event) => running.configurationChanged(event)),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      if (!running.started && vscode.workspace.workspaceFolders !== undefined) {
        void running.start(); // the first folder was opened into an empty window
      }
    }),
  );
  if (vscode.workspace.workspaceFolders === undefined) {
    statusBar.setState("stopped");
    log.info("No folder is open: open a folder inside a repository to use copilot-index.");
    return;
  }
  await running.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}

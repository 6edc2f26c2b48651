// The language client: starts copilot-lsp, feeds VS Code's inline suggestions (ghost text) from
// `textDocument/inlineCompletion`, answers the server's settings requests and runs its commands.
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  State,
  type ExecuteCommandParams,
  type LanguageClientOptions,
} from "vscode-languageclient/node";

import { currentLaunchSettings, currentServerSettings, RESTART_SETTINGS } from "./config";
import { LaunchError, nodeLaunchContext, resolveServerLaunch, serverExecutable } from "./core/launch";
import { statusRequest, WARM_NOTIFICATION, warmParams, type ServerStatus } from "./core/requests";
import { serverLogLine, type ChannelLevel } from "./core/serverLog";
import {
  configurationAnswer,
  PULL_CONFIGURATION,
  removedSettings,
  SECTION,
  type ServerSettings,
} from "./core/settings";
import type { StatusBar } from "./statusBar";
import { TraceChannel } from "./traceChannel";

export const NOT_RUNNING =
  'The copilot-index server is not running: run "copilot-index: Restart Server", or see "copilot-index: Show Log".';

/** Calls `each` with every line of a stream. */
function eachLine(input: Readable, each: (line: string) => void): void {
  createInterface({ input, crlfDelay: Infinity, terminal: false }).on("line", each);
}

/** The server's stderr into the channel, each line at its log record's level (not all as errors). */
function serverStderr(input: Readable, channel: vscode.LogOutputChannel): void {
  let level: ChannelLevel = "info";
  eachLine(input, (line) => {
    const shown = serverLogLine(line, level);
    level = shown.level;
    channel[shown.level](shown.text);
  });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The workspace folder of the active editor (else the first folder), as the URI the server's commands take. */
export function activeFolder(): vscode.WorkspaceFolder | undefined {
  const document = vscode.window.activeTextEditor?.document;
  const folder = document !== undefined ? vscode.workspace.getWorkspaceFolder(document.uri) : undefined;
  return folder ?? vscode.workspace.workspaceFolders?.[0];
}

export class ServerClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** The settings sent as initializationOptions; the server keeps them until it restarts. */
  private startSettings: ServerSettings = {};
  private readonly roots = new Map<string, string>();
  private readonly trace: TraceChannel;

  constructor(
    /** The server settings the extension contributes (see serverSettingKeys). */
    private readonly settingKeys: readonly string[],
    readonly log: vscode.LogOutputChannel,
    readonly statusBar: StatusBar,
  ) {
    this.trace = new TraceChannel(log);
  }

  /** True once a client was created (it may have stopped since). */
  get started(): boolean {
    return this.client !== undefined;
  }

  async start(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    let command;
    try {
      const launch = resolveServerLaunch(currentLaunchSettings(), nodeLaunchContext(folder?.uri.fsPath));
      command = serverExecutable(launch, folder?.uri.fsPath);
      this.log.info(`Starting ${launch.description}`);
    } catch (error) {
      this.failed(errorMessage(error), error instanceof LaunchError);
      return;
    }
    this.startSettings = currentServerSettings(this.settingKeys);
    const client = new LanguageClient(SECTION, "copilot-index", command, this.clientOptions());
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Stopped) {
        this.statusBar.setState("stopped");
      } else if (newState === State.Starting) {
        this.statusBar.setState("starting");
      } else {
        this.statusBar.setState("running");
        void this.refreshStatus();
      }
    });
    this.client = client;
    this.statusBar.setState("starting");
    try {
      await client.start();
    } catch (error) {
      this.failed(`The copilot-index server did not start (${errorMessage(error)}): see the log for its error.`, false);
    }
  }

  private clientOptions(): LanguageClientOptions {
    return {
      // Every file on disk: the server decides what it can complete and refuses files outside the folders.
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.log,
      traceOutputChannel: this.trace,
      stdioOptions: {
        stdout: (input, channel) => {
          eachLine(input, (line) => {
            channel.info(line);
          });
        },
        stderr: serverStderr,
      },
      // The extension runs only in workspaces VS Code trusts (package.json, untrustedWorkspaces), and says so:
      // the repository's own .copilot-index.toml may then choose the model, endpoint and guards.
      initializationOptions: () => ({ ...this.startSettings, trustedWorkspace: vscode.workspace.isTrusted }),
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            const fallback = Array.isArray(answer) ? (answer as unknown[]) : [];
            const settingsFor = (scope: string | undefined) =>
              currentServerSettings(this.settingKeys, scope === undefined ? undefined : vscode.Uri.parse(scope));
            return configurationAnswer(params.items, settingsFor, fallback);
          },
        },
        // The server refuses files outside the workspace folders; asking would pop up an error per keystroke.
        provideInlineCompletionItems: (document, position, context, token, next) =>
          vscode.workspace.getWorkspaceFolder(document.uri) === undefined
            ? undefined
            : next(document, position, context, token),
        // VS Code shows the suggestion as ghost text; the server's completion-list fallback would only repeat
        // it in the suggest widget and generate twice.
        provideCompletionItem: () => undefined,
        handleWorkDoneProgress: (token, value, next) => {
          if (this.statusBar.progress(token, value)) {
            void this.refreshStatus();
          }
          next(token, value);
        },
      },
    };
  }

  private failed(problem: string, offerSettings: boolean): void {
    this.log.error(problem);
    this.statusBar.setState("failed", problem);
    const actions = offerSettings ? ["Open Settings", "Show Log"] : ["Show Log"];
    void vscode.window.showErrorMessage(problem, ...actions).then((action) => {
      if (action === "Open Settings") {
        void vscode.commands.executeCommand("workbench.action.openSettings", SECTION);
      } else if (action === "Show Log") {
        this.log.show();
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.roots.clear();
    if (client !== undefined) {
      await client.stop().catch((error: unknown) => {
        this.log.warn(`Stopping the server: ${errorMessage(error)}`);
      });
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Runs one of the server's `workspace/executeCommand` commands. */
  async execute<T>(params: ExecuteCommandParams, token?: vscode.CancellationToken): Promise<T> {
    const client = this.client;
    if (client?.state !== State.Running) {
      throw new Error(NOT_RUNNING);
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, params, token)) as T;
  }

  /** Asks for the status of the active folder's repository and shows it in the status bar. */
  /** Tell the server the cursor arrived at a new place (a notification: nothing comes back). */
  async warm(uri: string, line: number, character: number): Promise<void> {
    if (this.client?.state === State.Running) {
      await this.client.sendNotification(WARM_NOTIFICATION, warmParams(uri, line, character));
    }
  }

  async refreshStatus(): Promise<ServerStatus | undefined> {
    const folder = activeFolder()?.uri.toString();
    try {
      const status = await this.execute<ServerStatus>(statusRequest(folder));
      this.roots.set(folder ?? "", status.root);
      this.statusBar.setStatus(status);
      return status;
    } catch (error) {
      this.log.warn(`Status: ${errorMessage(error)}`);
      return undefined;
    }
  }

  /** The repository root of a workspace folder (search results are relative to it). */
  async rootOf(folder?: string): Promise<string> {
    const known = this.roots.get(folder ?? "");
    if (known !== undefined) {
      return known;
    }
    const status = await this.execute<ServerStatus>(statusRequest(folder));
    this.roots.set(folder ?? "", status.root);
    return status.root;
  }

  /** Settings changed: have the server ask for its settings again, and offer a restart for what only a restart applies. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (event.affectsConfiguration(`${SECTION}.trace.server`)) {
      this.trace.settingChanged();
    }
    if (this.client?.state === State.Running) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, PULL_CONFIGURATION);
    }
    const now = currentServerSettings(this.settingKeys);
    const removed = removedSettings(this.startSettings, now).map((key) => `${SECTION}.${key}`);
    let reason: string | undefined;
    if (RESTART_SETTINGS.some((setting) => event.affectsConfiguration(setting))) {
      reason = "The copilot-index server command changed: restart the server to use it.";
    } else if (removed.length > 0) {
      const are = removed.length === 1 ? "is" : "are";
      reason = `${removed.join(", ")} ${are} no longer set: restart the copilot-index server to apply that.`;
    }
    if (reason !== undefined && (await vscode.window.showInformationMessage(reason, "Restart")) === "Restart") {
      await this.restart();
    }
  }

  dispose(): void {
    void this.stop();
    this.trace.dispose();
  }
}

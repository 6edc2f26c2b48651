// A language-client session with the REAL copilot-lsp over stdio, speaking through the same protocol
// library as vscode-languageclient and starting the server, answering its requests and building the
// settings with the extension's own code (src/core).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { pathToFileURL } from "node:url";

import {
  ConfigurationRequest,
  createProtocolConnection,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  RegistrationRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  type InitializeResult,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";

import { nodeLaunchContext, readLaunchSettings, resolveServerLaunch, serverExecutable } from "../../src/core/launch";
import { configurationAnswer, serverSettingKeys, serverSettings, type ServerSettings } from "../../src/core/settings";
import { StatusModel } from "../../src/core/statusModel";
import { readManifest } from "../manifest";
import { libraryClientCapabilities } from "./languageClient";

/** Everything the server sent on its own: progress, log and show messages, registrations. */
export interface Heard {
  progress: { token: string | number; kind: string; title?: string; message?: string; percentage?: number }[];
  statusBar: string[];
  logMessages: string[];
  shownMessages: string[];
  registrations: string[];
  configurationRequests: number;
}

export class Session {
  readonly heard: Heard = {
    progress: [],
    statusBar: [],
    logMessages: [],
    shownMessages: [],
    registrations: [],
    configurationRequests: 0,
  };
  readonly statusModel = new StatusModel();
  stderr = "";
  initializeResult?: InitializeResult;
  readonly folderUri: string;
  /** Folder settings (`.vscode/settings.json`), which win over the user's inside the folder. */
  folderSettings: Record<string, unknown> = {};
  /** The initializationOptions the extension would send for the user settings. */
  readonly settings: ServerSettings;
  private readonly keys = serverSettingKeys(readManifest());

  private constructor(
    readonly workspace: string,
    readonly connection: ProtocolConnection,
    readonly process: ChildProcessWithoutNullStreams,
    readonly userSettings: Record<string, unknown>,
  ) {
    this.folderUri = pathToFileURL(workspace).href;
    this.settings = this.settingsFor(undefined);
  }

  /** The server settings the extension sends for a scope, as VS Code resolves them (folder over user). */
  settingsFor(scopeUri: string | undefined): ServerSettings {
    const inFolder = scopeUri !== undefined && scopeUri.replace(/\/$/, "") === this.folderUri.replace(/\/$/, "");
    return serverSettings(this.keys, (key) => (inFolder ? this.folderSettings[key] : undefined) ?? this.userSettings[key]);
  }

  /** Starts the server as the extension would for `userSettings` (settings.json keys without `copilotIndex.`). */
  static start(workspace: string, userSettings: Record<string, unknown>): Session {
    const launch = resolveServerLaunch(readLaunchSettings((key) => userSettings[key]), nodeLaunchContext(workspace));
    const executable = serverExecutable(launch, workspace);
    const child = spawn(executable.command, executable.args, { ...executable.options, stdio: "pipe" });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const session = new Session(workspace, connection, child, userSettings);
    child.stderr.on("data", (chunk: Buffer) => {
      session.stderr = (session.stderr + chunk.toString("utf8")).slice(-20000);
    });
    session.listen();
    return session;
  }

  private listen(): void {
    const { connection, heard } = this;
    connection.onRequest(ConfigurationRequest.type, (params) => {
      heard.configurationRequests += 1;
      return configurationAnswer(params.items, (scope) => this.settingsFor(scope));
    });
    connection.onRequest(RegistrationRequest.type, (params) => {
      heard.registrations.push(...params.registrations.map((r) => r.method));
    });
    connection.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      connection.onProgress(WorkDoneProgress.type, token, (value) => {
        const title = value.kind === "begin" ? value.title : undefined;
        const percentage = value.kind === "end" ? undefined : value.percentage;
        heard.progress.push({ token, kind: value.kind, title, message: value.message, percentage });
        this.statusModel.progress(token, value);
        heard.statusBar.push(this.statusModel.view().text);
      });
    });
    connection.onNotification(LogMessageNotification.type, (params) => {
      heard.logMessages.push(params.message);
    });
    connection.onNotification(ShowMessageNotification.type, (params) => {
      heard.shownMessages.push(params.message);
    });
    connection.listen();
  }

  async initialize(): Promise<InitializeResult> {
    this.statusModel.state = "starting";
    this.initializeResult = await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: "copilot-index protocol test" },
      locale: "en",
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the protocol; the client sends it
      rootUri: this.folderUri,
      workspaceFolders: [{ uri: this.folderUri, name: "repo" }],
      capabilities: libraryClientCapabilities(),
      initializationOptions: this.settings,
      trace: "off",
    });
    await this.connection.sendNotification(InitializedNotification.type, {});
    this.statusModel.state = "running";
    return this.initializeResult;
  }

  /** shutdown, exit, and the server's exit code. */
  async close(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => {
      if (this.process.exitCode !== null) {
        resolve(this.process.exitCode);
      } else {
        this.process.once("exit", (code) => {
          resolve(code);
        });
      }
    });
    await this.connection.sendRequest(ShutdownRequest.type);
    await this.connection.sendNotification(ExitNotification.type);
    const code = await within(exited, 15, "the server to exit").catch(() => {
      this.process.kill();
      return null;
    });
    this.connection.dispose();
    return code;
  }
}

/** `promise`, or a rejection naming `what` after `seconds`. */
export async function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${String(seconds)} s waiting for ${what}`));
    }, seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

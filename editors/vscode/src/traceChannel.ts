// The channel vscode-languageclient writes its LSP trace to. The library (10.x) traces only while the
// channel's log level is Trace, which a user sets with "Developer: Set Log Level...", and takes
// `copilotIndex.trace.server` just for how much to trace. This wraps the copilot-index channel so that the
// setting alone turns the trace on, as its description says: while it is `messages` or `verbose` the
// channel reports the Trace level and writes trace lines at the info level, which the channel shows.
import * as vscode from "vscode";

import { traceRequested } from "./core/serverLog";
import { SECTION } from "./core/settings";

export class TraceChannel implements vscode.LogOutputChannel {
  private readonly changed = new vscode.EventEmitter<vscode.LogLevel>();
  private readonly listener: vscode.Disposable;
  readonly onDidChangeLogLevel = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.listener = log.onDidChangeLogLevel(() => {
      this.changed.fire(this.logLevel);
    });
  }

  private get requested(): boolean {
    return traceRequested(vscode.workspace.getConfiguration(SECTION).get("trace.server"));
  }

  get name(): string {
    return this.log.name;
  }

  get logLevel(): vscode.LogLevel {
    return this.requested ? vscode.LogLevel.Trace : this.log.logLevel;
  }

  /** `copilotIndex.trace.server` changed: the language client asks for the level again and tells the server. */
  settingChanged(): void {
    this.changed.fire(this.logLevel);
  }

  trace(message: string, ...args: unknown[]): void {
    if (this.requested) {
      this.log.info(message, ...args);
    } else {
      this.log.trace(message, ...args);
    }
  }

  debug(message: string, ...args: unknown[]): void {
    this.log.debug(message, ...args);
  }

  info(message: string, ...args: unknown[]): void {
    this.log.info(message, ...args);
  }

  warn(message: string, ...args: unknown[]): void {
    this.log.warn(message, ...args);
  }

  error(error: string | Error, ...args: unknown[]): void {
    this.log.error(error, ...args);
  }

  append(value: string): void {
    this.log.append(value);
  }

  appendLine(value: string): void {
    this.log.appendLine(value);
  }

  replace(value: string): void {
    this.log.replace(value);
  }

  clear(): void {
    this.log.clear();
  }

  show(preserveFocus?: boolean): void;
  show(column?: vscode.ViewColumn, preserveFocus?: boolean): void;
  show(first?: boolean | vscode.ViewColumn, preserveFocus?: boolean): void {
    this.log.show(typeof first === "boolean" ? first : preserveFocus);
  }

  hide(): void {
    this.log.hide();
  }

  /** The copilot-index channel itself stays: the extension disposes of it. */
  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}

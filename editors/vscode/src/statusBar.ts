// The status bar item: indexing progress, the server state and the model (see core/statusModel.ts).
import * as vscode from "vscode";

import type { ServerStatus } from "./core/requests";
import { StatusModel, type ProgressValue, type ServerState } from "./core/statusModel";

export class StatusBar implements vscode.Disposable {
  readonly model = new StatusModel();
  private readonly item: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after every change, e.g. so that a command can follow its work's progress. */
  readonly onDidChange = this.changed.event;

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem("copilotIndex.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "copilot-index";
    this.item.command = command;
    this.render();
    this.item.show();
  }

  setState(state: ServerState, problem?: string): void {
    this.model.reset(state, problem);
    this.render();
  }

  setStatus(status: ServerStatus): void {
    this.model.status = status;
    this.render();
  }

  /** Takes a `$/progress` value; true when a piece of work ended. */
  progress(token: string | number, value: ProgressValue): boolean {
    const ended = this.model.progress(token, value);
    this.render();
    return ended;
  }

  private render(): void {
    const view = this.model.view();
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      this.model.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.changed.fire();
  }

  dispose(): void {
    this.item.dispose();
    this.changed.dispose();
  }
}

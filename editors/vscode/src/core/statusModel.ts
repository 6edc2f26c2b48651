// What the status bar item says: server state, `$/progress` work (indexing, adapter training) and the last
// `copilotIndex.status` answer. No `vscode` import: unit-tested in Node and fed by the protocol test.
import type {
  ProgressToken,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from "vscode-languageserver-protocol";

import { modelLabel } from "./present";
import type { ServerStatus } from "./requests";

export type ServerState = "starting" | "running" | "stopped" | "failed";
export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** One piece of long work the server reports. */
export interface Work {
  title: string;
  message?: string;
  percentage?: number;
}

export interface StatusView {
  text: string;
  tooltip: string;
}

const NAME = "copilot-index";

export class StatusModel {
  state: ServerState = "starting";
  /** Why the server is not running, when it failed. */
  problem?: string;
  /** The last `copilotIndex.status` answer. */
  status?: ServerStatus;
  private readonly work = new Map<ProgressToken, Work>();

  /** Takes one `$/progress` value; true when it ended a piece of work (the status is then worth asking for). */
  progress(token: ProgressToken, value: ProgressValue): boolean {
    if (value.kind === "begin") {
      this.work.set(token, { title: value.title, message: value.message, percentage: value.percentage });
      return false;
    }
    const current = this.work.get(token);
    if (value.kind === "report") {
      if (current !== undefined) {
        current.message = value.message ?? current.message;
        current.percentage = value.percentage ?? current.percentage;
      }
      return false;
    }
    return this.work.delete(token);
  }

  /** The work in progress, oldest first. */
  running(): Work[] {
    return [...this.work.values()];
  }

  /** The server stopped or restarts: its work is gone. */
  reset(state: ServerState, problem?: string): void {
    this.state = state;
    this.problem = problem;
    this.work.clear();
    if (state !== "running") {
      this.status = undefined;
    }
  }

  view(): StatusView {
    const work = this.running()[0];
    if (this.state === "failed") {
      return { text: `$(error) ${NAME}`, tooltip: `${NAME}: ${this.problem ?? "the server failed"} (click for the log)` };
    }
    if (this.state === "stopped") {
      return { text: `$(circle-slash) ${NAME}`, tooltip: `${NAME}: the server is stopped` };
    }
    if (work !== undefined) {
      const percent = work.percentage === undefined ? "" : ` ${String(work.percentage)}%`;
      return {
        text: `$(sync~spin) ${work.title}${percent}`,
        tooltip: `${NAME}: ${work.title}${work.message ? ` — ${work.message}` : ""}`,
      };
    }
    if (this.state === "starting") {
      return { text: `$(sync~spin) ${NAME}`, tooltip: `${NAME}: starting the server` };
    }
    return this.statusView();
  }

  private statusView(): StatusView {
    const status = this.status;
    if (status === undefined) {
      return { text: `$(check) ${NAME}`, tooltip: `${NAME}: the server is running` };
    }
    const model = modelLabel(status);
    const tooltip = `${NAME}: ${status.root}\nModel: ${model}`;
    if (status.indexing.error || status.index_problem) {
      const problem = status.indexing.error ?? status.index_problem ?? "";
      return { text: `$(warning) ${NAME}: index failed`, tooltip: `${tooltip}\n${problem}` };
    }
    if (status.index === null) {
      const building = status.indexing.running;
      return {
        text: building ? `$(sync~spin) ${NAME}: indexing` : `$(warning) ${NAME}: no index`,
        tooltip: `${tooltip}\n${building ? "The index is being built." : "There is no index yet: run Reindex."}`,
      };
    }
    const files = `${String(status.index.files)} files`;
    return {
      text: `$(database) ${NAME}: ${files} · ${model}`,
      tooltip: `${tooltip}\nIndex: ${files}, ${String(status.index.chunks)} chunks`,
    };
  }
}

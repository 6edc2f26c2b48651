// Server answers as text and quick-pick items for people. No `vscode` import: unit-tested in Node.
import * as path from "node:path";

import type { AdapterReport, IndexSummary, LastSuggestion, SearchHit, ServerStatus, SourceRange } from "./requests";

/** A quick-pick entry that opens a place in the repository (lines are 1-based and inclusive). */
export interface LocationPick {
  label: string;
  description: string;
  detail?: string;
  path: string;
  startLine: number;
  endLine: number;
}

const KIND_ICONS: Record<string, string> = {
  class: "symbol-class",
  function: "symbol-function",
  method: "symbol-method",
  enum: "symbol-enum",
  interface: "symbol-interface",
  trait: "symbol-interface",
  struct: "symbol-struct",
  namespace: "symbol-namespace",
  impl: "symbol-class",
  type: "symbol-type-parameter",
};

/** The first non-blank line of `text`, trimmed and cut to `max` characters. */
export function firstLine(text: string, max = 80): string {
  const line = text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Search hits as quick-pick entries: the symbol (or first code line), where it is, and the score. */
export function searchPicks(hits: readonly SearchHit[]): LocationPick[] {
  return hits.map((hit) => {
    const icon = KIND_ICONS[hit.kind ?? ""] ?? "file-code";
    const name = hit.symbol ?? "";
    const label = name !== "" ? name : firstLine(hit.text) || hit.path;
    const about = [hit.kind, hit.language, `score ${hit.score.toFixed(3)}`].filter((p) => p).join(" · ");
    return {
      label: `$(${icon}) ${label}`,
      description: `${hit.path}:${String(hit.start_line)}`,
      detail: name !== "" ? `${about} — ${firstLine(hit.text)}` : about,
      path: hit.path,
      startLine: hit.start_line,
      endLine: hit.end_line,
    };
  });
}

/** The absolute file of a repository-relative POSIX path. */
export function fileIn(root: string, relative: string): string {
  return path.join(root, ...relative.split("/"));
}

function where(source: SourceRange): string {
  return `${source.path}:${String(source.start_line)}-${String(source.end_line)}`;
}

/** The sources of a suggestion as quick-pick entries. */
export function sourcePicks(last: LastSuggestion): LocationPick[] {
  return last.sources.map((source) => ({
    label: `$(references) ${where(source)}`,
    description: "grounded the suggestion",
    path: source.path,
    startLine: source.start_line,
    endLine: source.end_line,
  }));
}

/** Why completion.tidy left nothing to show, by the stop reason it gives. */
const TIDY_CUTS: Record<string, string> = {
  tidy_copy: "(empty: it repeated the code below the cursor; completion.tidy cut it)",
  tidy_loop: "(empty: the model was repeating itself; completion.tidy cut it)",
};

/** The last suggestion, what grounded it and what the guards decided, as readable text. */
export function sourcesText(last: LastSuggestion | null): string {
  if (last === null) {
    return "No suggestion has been shown in this file yet: type until ghost text appears, then ask again.";
  }
  const sure = typeof last.confidence === "number" ? `, confidence ${last.confidence.toFixed(2)}` : "";
  const lines = [`Suggestion (${last.latency_ms.toFixed(0)} ms, ${last.stop_reason}${sure}):`];
  const empty =
    last.withheld === true
      ? "(empty: withheld, below completion.min_confidence)"
      : (TIDY_CUTS[last.stop_reason] ?? "(empty: withheld)");
  for (const line of (last.completion === "" ? empty : last.completion).split("\n")) {
    lines.push(`    ${line}`);
  }
  lines.push("Sources:");
  lines.push(...(last.sources.length > 0 ? last.sources.map((s) => `  ${where(s)}`) : ["  (no code was retrieved)"]));
  if (last.guard.length > 0) {
    lines.push("Guards:");
    lines.push(...last.guard.map((g) => `  ${g.guard}: ${g.action} (${g.reason})`));
  }
  return lines.join("\n");
}

/** One sentence about an indexing run. */
export function indexSummaryText(summary: IndexSummary): string {
  return (
    `Indexed: ${String(summary.files_scanned)} files scanned, ${String(summary.files_changed)} changed, ` +
    `${String(summary.chunks_embedded)} chunks embedded, ${String(summary.chunks_reused)} reused ` +
    `(${summary.seconds.toFixed(1)} s).`
  );
}

/** One sentence about an adapter training run. */
export function adapterReportText(report: AdapterReport): string {
  const version = report.version === null ? "The adapter" : `Adapter v${String(report.version)}`;
  return report.promoted
    ? `${version} is now active: ${report.reason}.`
    : `${version} was not promoted, the previous model stays active: ${report.reason}.`;
}

/** How the status bar and the status report name the model (and adapter, when the server reports it). */
export function modelLabel(status: Pick<ServerStatus, "model" | "adapter">): string {
  const name = (value: string): string => path.basename(value.replace(/[\\/]+$/, "")) || value;
  const model = status.model === "default" ? "default model" : name(status.model);
  return typeof status.adapter === "string" && status.adapter !== "" ? `${model} + ${name(status.adapter)}` : model;
}

/** The whole status as readable lines (the Show Status report). */
export function statusLines(status: ServerStatus): string[] {
  const lines = [`Repository: ${status.root}`, `Data: ${status.data_dir}`];
  const index = status.index;
  if (index !== null) {
    lines.push(`Index: ${String(index.files)} files, ${String(index.chunks)} chunks, embedder ${index.embedder ?? "?"}`);
    if (index.commit) {
      lines.push(`Indexed commit: ${index.commit}`);
    }
    if (index.pending) {
      lines.push(`Changed since indexing: ${String(index.pending)} files`);
    }
  } else {
    lines.push(status.indexing.running ? "Index: being built" : "Index: none yet (run Reindex)");
  }
  if (status.index_problem) {
    lines.push(`Index problem: ${status.index_problem}`);
  }
  if (status.indexing.running) {
    lines.push("Indexing: running");
  }
  if (status.indexing.error) {
    lines.push(`Indexing failed: ${status.indexing.error}`);
  }
  if (status.indexing.last) {
    lines.push(`Last run: ${indexSummaryText(status.indexing.last)}`);
  }
  lines.push(`Model: ${status.model}`);
  if (status.adapter !== undefined) {
    lines.push(`Adapter: ${status.adapter ?? "none"}`);
  }
  const c = status.completion;
  lines.push(
    `Completions: ${String(c.requests)} requests, ${String(c.generated)} generated, ` +
      `${String(c.blocked)} blocked by guards, ${String(c.failed)} failed`,
  );
  return lines;
}

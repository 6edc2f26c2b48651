// The requests the extension sends to copilot-lsp, and the shapes of their answers. No `vscode` import:
// the extension and the protocol test (test/protocol) build their requests here, so the test sends
// exactly what the extension sends.
import type { ExecuteCommandParams } from "vscode-languageserver-protocol";

/** The server's `workspace/executeCommand` commands (server/lsp/features/commands.py). */
export const SERVER_COMMANDS = {
  search: "copilotIndex.search",
  reindex: "copilotIndex.reindex",
  status: "copilotIndex.status",
  trainAdapter: "copilotIndex.trainAdapter",
  suggestionSources: "copilotIndex.suggestionSources",
} as const;

/** One search hit: repository-relative POSIX path, 1-based inclusive lines (the CLI's `search --json`). */
export interface SearchHit {
  path: string;
  start_line: number;
  end_line: number;
  symbol?: string | null;
  kind?: string | null;
  language?: string | null;
  score: number;
  text: string;
}

export interface SearchAnswer {
  query: string;
  results: SearchHit[];
}

/** What one indexing run did (the CLI's `index --json`). */
export interface IndexSummary {
  files_scanned: number;
  files_changed: number;
  chunks_embedded: number;
  chunks_reused: number;
  chunks_deleted: number;
  seconds: number;
  commit?: string | null;
}

/** The index as `copilot-index status --json` describes it. */
export interface IndexStatus {
  files: number;
  chunks: number;
  embedder?: string | null;
  commit?: string | null;
  pending?: number;
  chunks_per_language?: Record<string, number>;
}

export interface CompletionStats {
  requests: number;
  generated: number;
  superseded: number;
  cancelled: number;
  blocked: number;
  failed: number;
}

/** The answer to `copilotIndex.status`. */
export interface ServerStatus {
  root: string;
  data_dir: string;
  index: IndexStatus | null;
  index_problem: string | null;
  indexing: { running: boolean; runs: number; last: IndexSummary | null; error: string | null };
  completion: CompletionStats;
  model: string;
  /** The adapter the model loads (a path). copilot-lsp 0.1 does not report it yet; shown when present. */
  adapter?: string | null;
}

export interface SourceRange {
  path: string;
  start_line: number;
  end_line: number;
}

export interface GuardDecision {
  guard: string;
  action: string;
  reason: string;
}

/** The answer to `copilotIndex.suggestionSources`: the last suggestion for a document, or null. */
export interface LastSuggestion {
  uri: string;
  completion: string;
  sources: SourceRange[];
  guard: GuardDecision[];
  latency_ms: number;
  stop_reason: string;
  /** How sure the model was (0-1); null from a model on a server. */
  confidence?: number | null;
  /** Below `completion.min_confidence`: not shown. */
  withheld?: boolean;
}

/** The answer to `copilotIndex.trainAdapter`. */
export interface AdapterReport {
  version: number | null;
  path: string | null;
  promoted: boolean;
  reason: string;
  samples?: Record<string, number>;
  metrics?: Record<string, Record<string, number>>;
}

function command(name: string, options: Record<string, unknown>): ExecuteCommandParams {
  const argument: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) {
      argument[key] = value;
    }
  }
  return { command: name, arguments: [argument] };
}

/** Hybrid search of the index of `folder` (a workspace folder URI; default: the first folder). */
export function searchRequest(query: string, k: number, folder?: string): ExecuteCommandParams {
  return command(SERVER_COMMANDS.search, { query, k, folder });
}

/** Bring the index up to date (or rebuild it); answers an IndexSummary. */
export function reindexRequest(rebuild: boolean, folder?: string): ExecuteCommandParams {
  return command(SERVER_COMMANDS.reindex, { rebuild, folder });
}

/** The index, indexing and model state; answers a ServerStatus. */
export function statusRequest(folder?: string): ExecuteCommandParams {
  return command(SERVER_COMMANDS.status, { folder });
}

/** Train a LoRA adapter on the repository (minutes; cancellable); answers an AdapterReport. */
export function trainAdapterRequest(folder?: string): ExecuteCommandParams {
  return command(SERVER_COMMANDS.trainAdapter, { folder });
}

/** What grounded the last suggestion in a document; answers a LastSuggestion or null. */
export function sourcesRequest(documentUri: string): ExecuteCommandParams {
  return { command: SERVER_COMMANDS.suggestionSources, arguments: [documentUri] };
}

/** Sent when a file is opened or the cursor moves to another line, so the server evaluates the prompt there
 * into its model's cache before the first suggestion is asked for (server/lsp/features/completion.py). */
export const WARM_NOTIFICATION = "copilotIndex/warm";

export interface WarmParams {
  textDocument: { uri: string };
  position: { line: number; character: number };
}

export function warmParams(uri: string, line: number, character: number): WarmParams {
  return { textDocument: { uri }, position: { line, character } };
}

/** Tells a move to a new place (another document, or another line) from typing on the same line. */
export class PlaceTracker {
  private last: string | undefined;

  moved(uri: string, line: number): boolean {
    const place = `${String(line)}\u0000${uri}`;
    const moved = place !== this.last;
    this.last = place;
    return moved;
  }

  /** Forget the last place (the document closed): coming back to it is a move again. */
  reset(): void {
    this.last = undefined;
  }
}

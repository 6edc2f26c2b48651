import { strict as assert } from "node:assert";
import { test } from "node:test";

import { serverLogLine, traceRequested } from "../../src/core/serverLog";

test("server records keep their level and lose the server's timestamp", () => {
  assert.deepEqual(serverLogLine("2026-12-02 09:39:37,038 INFO copilot_index.lsp: indexed 2 files"), {
    level: "info",
    text: "copilot_index.lsp: indexed 2 files",
  });
  assert.deepEqual(serverLogLine("2026-12-02 09:39:37,038 WARNING copilot_index.lsp: no index", "error"), {
    level: "warn",
    text: "copilot_index.lsp: no index",
  });
  assert.equal(serverLogLine("2026-12-02 09:39:37,038 ERROR x: failed").level, "error");
  assert.equal(serverLogLine("2026-12-02 09:39:37,038 CRITICAL x: failed").level, "error");
});

test("debug records are shown (the channel would hide its debug level) and say they are debug", () => {
  assert.deepEqual(serverLogLine("2026-12-02 09:39:37,038 DEBUG pygls.protocol: Request 'initialize' received"), {
    level: "info",
    text: "DEBUG pygls.protocol: Request 'initialize' received",
  });
});

test("lines that are not records, such as a traceback or a progress bar, take the level before them", () => {
  assert.deepEqual(serverLogLine("Traceback (most recent call last):", "error"), {
    level: "error",
    text: "Traceback (most recent call last):",
  });
  assert.equal(serverLogLine("Batches: 100%|██████████| 1/1 [00:02<00:00,  2.58s/it]").level, "info");
});

test("the trace setting turns the trace on for messages and verbose only", () => {
  assert.equal(traceRequested("messages"), true);
  assert.equal(traceRequested("verbose"), true);
  assert.equal(traceRequested("off"), false);
  assert.equal(traceRequested(undefined), false);
});

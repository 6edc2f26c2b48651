import { strict as assert } from "node:assert";
import { test } from "node:test";

import { StatusModel } from "../../src/core/statusModel";
import { STATUS } from "./fixtures";

test("indexing progress shows with its percentage until it ends", () => {
  const model = new StatusModel();
  model.state = "running";
  assert.equal(model.progress("t1", { kind: "begin", title: "Indexing", message: "repo: server start", percentage: 0 }), false);
  assert.equal(model.view().text, "$(sync~spin) Indexing 0%");
  model.progress("t1", { kind: "report", message: "embedding 3/4 files", percentage: 75 });
  assert.deepEqual(model.view(), {
    text: "$(sync~spin) Indexing 75%",
    tooltip: "copilot-index: Indexing — embedding 3/4 files",
  });
  assert.equal(model.progress("t1", { kind: "end", message: "done" }), true);
  assert.equal(model.view().text, "$(check) copilot-index");
});

test("an end for unknown work changes nothing", () => {
  const model = new StatusModel();
  assert.equal(model.progress("nope", { kind: "end" }), false);
});

test("the status shows the index size and the model", () => {
  const model = new StatusModel();
  model.state = "running";
  model.status = STATUS;
  assert.equal(model.view().text, "$(database) copilot-index: 2 files · tiny");
  model.status = { ...STATUS, adapter: "/repo/.git/copilot-index/adapters/v2" };
  assert.equal(model.view().text, "$(database) copilot-index: 2 files · tiny + v2");
});

test("no index, a failed index and a failed server each say so", () => {
  const model = new StatusModel();
  model.state = "running";
  model.status = { ...STATUS, index: null };
  assert.equal(model.view().text, "$(warning) copilot-index: no index");
  model.status = { ...STATUS, indexing: { ...STATUS.indexing, error: "disk full" } };
  assert.match(model.view().tooltip, /disk full$/);
  model.reset("failed", "copilot-lsp was not found");
  assert.equal(model.view().text, "$(error) copilot-index");
  assert.match(model.view().tooltip, /copilot-lsp was not found/);
  assert.equal(model.status, undefined);
});

test("starting shows a spinner; stopping drops the work in progress", () => {
  const model = new StatusModel();
  assert.equal(model.view().text, "$(sync~spin) copilot-index");
  model.progress("t", { kind: "begin", title: "Training the adapter" });
  model.reset("stopped");
  assert.deepEqual(model.running(), []);
  assert.equal(model.view().text, "$(circle-slash) copilot-index");
});

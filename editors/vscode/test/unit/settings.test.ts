import { strict as assert } from "node:assert";
import { test } from "node:test";

import {
  configurationAnswer,
  PULL_CONFIGURATION,
  removedSettings,
  serverSettingKeys,
  serverSettings,
} from "../../src/core/settings";
import { readManifest } from "../manifest";

const keys = serverSettingKeys(readManifest());

test("the server settings are the contributed lsp, completion and index settings", () => {
  assert.ok(keys.includes("completion.model"));
  assert.ok(keys.includes("lsp.completion_debounce_ms"));
  assert.ok(keys.includes("index.embedder"));
  assert.ok(!keys.some((key) => key.startsWith("server.") || key === "pythonPath" || key.startsWith("trace.")));
});

test("only the settings the user set are sent, nested by table", () => {
  const user: Record<string, unknown> = {
    "completion.model": "/models/tiny",
    "completion.max_tokens": 16,
    "lsp.guards": false,
    "index.vendored": ["vendor/"],
  };
  assert.deepEqual(serverSettings(keys, (key) => user[key]), {
    completion: { model: "/models/tiny", max_tokens: 16 },
    lsp: { guards: false },
    index: { vendored: ["vendor/"] },
  });
});

test("guard settings nest a table per guard, as in .copilot-index.toml", () => {
  assert.ok(keys.includes("guards.secrets.enabled") && keys.includes("guards.audit"));
  const user: Record<string, unknown> = { "guards.secrets.enabled": false, "guards.license.copyleft_action": "annotate" };
  assert.deepEqual(serverSettings(keys, (key) => user[key]), {
    guards: { secrets: { enabled: false }, license: { copyleft_action: "annotate" } },
  });
});

test("nothing set sends an empty object, so .copilot-index.toml keeps its values", () => {
  assert.deepEqual(serverSettings(keys, () => undefined), {});
});

test("keys outside the server's tables are never sent", () => {
  assert.deepEqual(serverSettings(["server.command", "eval.x", "lsp"], () => "x"), {});
});

test("workspace/configuration is answered for our section only, per scope", () => {
  const global = { lsp: { guards: false } };
  const folder = { lsp: { guards: true } };
  const settingsFor = (scope: string | undefined) => (scope === "file:///repo" ? folder : global);
  const items = [{ section: "copilotIndex" }, { section: "copilotIndex", scopeUri: "file:///repo" }, { section: "python" }];
  assert.deepEqual(configurationAnswer(items, settingsFor, [{}, {}, { a: 1 }]), [global, folder, { a: 1 }]);
  assert.deepEqual(configurationAnswer(items, settingsFor), [global, folder, null]);
});

test("a settings change asks the server to pull them again", () => {
  assert.deepEqual(PULL_CONFIGURATION, { settings: null });
});

test("settings removed since the start are named, because only a restart takes them back", () => {
  const atStart = { completion: { model: "a", max_tokens: 8 }, lsp: { guards: false } };
  assert.deepEqual(removedSettings(atStart, { completion: { model: "b" } }), ["lsp.guards", "completion.max_tokens"]);
  assert.deepEqual(removedSettings(atStart, atStart), []);
});

import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { test } from "node:test";

import { SERVER_COMMANDS } from "../../src/core/requests";
import { serverSettingKeys } from "../../src/core/settings";
import { EXTENSION_ROOT, readManifest } from "../manifest";

const manifest = readManifest();

test("the entry point is bundled where package.json says", () => {
  assert.ok(existsSync(path.join(EXTENSION_ROOT, manifest.main)), manifest.main);
});

test("the bundle needs nothing but VS Code and Node's own modules (the .vsix ships no node_modules)", () => {
  const bundle = readFileSync(path.join(EXTENSION_ROOT, manifest.main), "utf8");
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1] ?? "");
  assert.ok(required.includes("vscode"));
  const builtin = new Set(builtinModules);
  assert.deepEqual(
    required.filter((name) => name !== "vscode" && !builtin.has(name.replace(/^node:/, ""))),
    [],
  );
});

test("the contributed commands do not clash with the server's, which the language client registers", () => {
  const ours = manifest.contributes.commands.map((c) => c.command);
  for (const serverCommand of Object.values(SERVER_COMMANDS)) {
    assert.ok(!ours.includes(serverCommand), serverCommand);
  }
  for (const title of ["Search Codebase", "Reindex", "Train Adapter", "Show Status", "Show Suggestion Sources"]) {
    assert.ok(manifest.contributes.commands.some((c) => c.title === title), title);
  }
  for (const binding of manifest.contributes.keybindings ?? []) {
    assert.ok(ours.includes(binding.command), binding.command);
  }
});

test("every setting has a default of its declared type", () => {
  for (const [id, schema] of Object.entries(manifest.contributes.configuration.properties)) {
    assert.ok(id.startsWith("copilotIndex."), id);
    const value = schema.default;
    const type = schema.type;
    const ok =
      (type === "string" && typeof value === "string") ||
      (type === "boolean" && typeof value === "boolean") ||
      (type === "integer" && Number.isInteger(value)) ||
      (type === "number" && typeof value === "number") ||
      (type === "array" && Array.isArray(value)) ||
      (type === "object" && typeof value === "object" && value !== null && !Array.isArray(value));
    assert.ok(ok, `${id}: default ${JSON.stringify(value)} is not a ${String(type)}`);
  }
});

test("server settings can be set per folder, because the server asks for each repository folder", () => {
  for (const key of serverSettingKeys(manifest)) {
    assert.equal(manifest.contributes.configuration.properties[`copilotIndex.${key}`]?.scope, "resource", key);
  }
});

test("@types/vscode is not newer than engines.vscode (vsce refuses that)", () => {
  const engine = manifest.engines.vscode.replace(/^\^/, "");
  const types = manifest.devDependencies["@types/vscode"]?.replace(/^[\^~]/, "");
  assert.equal(types, engine);
});

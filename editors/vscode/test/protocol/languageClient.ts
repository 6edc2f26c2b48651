// What vscode-languageclient 10 sends on its own (not through the extension's code): the client
// capabilities, and the inline-completion and workspace-symbol requests it builds for VS Code's ghost text
// and "Go to Symbol in Workspace". The capabilities come from the installed library itself: it is loaded
// with a stand-in for the `vscode` module and asked what it would announce, so an upgrade cannot leave a
// hand-written copy behind. The end-to-end test checks them against what the client sends inside VS Code.
import * as nodeModule from "node:module";

import {
  InlineCompletionTriggerKind,
  type ClientCapabilities,
  type InlineCompletionParams,
  type WorkspaceSymbolParams,
} from "vscode-languageserver-protocol";

import { readManifest } from "../manifest";

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;

/** A value that stands for any part of the `vscode` API: every property, call and `new` gives another one. */
function standIn(name: string, values: Record<string, unknown> = {}): unknown {
  const target = function standInFunction(): void {
    // never called: the proxy's traps answer
  };
  return new Proxy(target, {
    get: (_target, key) => {
      if (key === "then") {
        return undefined; // not a promise
      }
      if (key === Symbol.toPrimitive) {
        return () => name;
      }
      if (typeof key === "string" && key in values) {
        return values[key];
      }
      return standIn(`${name}.${String(key)}`);
    },
    apply: () => standIn(`${name}()`),
    construct: () => standIn(`new ${name}`) as object,
  });
}

/** Where `value` holds values the stand-in made (they would mean the capabilities depend on VS Code's state). */
function standInValues(value: unknown, where = "capabilities"): string[] {
  if (typeof value === "function") {
    return [where];
  }
  if (typeof value !== "object" || value === null) {
    return [];
  }
  return Object.entries(value).flatMap(([key, item]) => standInValues(item, `${where}.${key}`));
}

interface CapabilitySource {
  computeClientCapabilities(): ClientCapabilities;
}

/** The capabilities vscode-languageclient's LanguageClient announces in `initialize`, with its built-in
 * (and proposed) features registered, as the extension creates it. */
export function libraryClientCapabilities(): ClientCapabilities {
  const loader = nodeModule.Module as unknown as { _load: Load };
  const load = loader._load;
  // The library checks the VS Code version: the oldest the extension supports.
  const vscode = standIn("vscode", { version: readManifest().engines.vscode.replace(/^\^/, "") });
  loader._load = function (this: unknown, request, parent, isMain) {
    return request === "vscode" ? vscode : load.call(this, request, parent, isMain);
  };
  try {
    const library = nodeModule.createRequire(__filename)("vscode-languageclient/node") as typeof import("vscode-languageclient/node");
    const client = new library.LanguageClient("copilotIndex", "copilot-index", { command: "copilot-lsp" }, {});
    const capabilities = (client as unknown as CapabilitySource).computeClientCapabilities();
    const unknown = standInValues(capabilities);
    if (unknown.length > 0) {
      throw new Error(`vscode-languageclient's capabilities depend on VS Code here: ${unknown.join(", ")}`);
    }
    return JSON.parse(JSON.stringify(capabilities)) as ClientCapabilities;
  } finally {
    loader._load = load;
  }
}

/** VS Code asks for ghost text while the user types (trigger Automatic) or on Alt+\ (Invoked). */
export function inlineCompletionParams(
  documentUri: string,
  line: number,
  character: number,
  trigger: InlineCompletionTriggerKind = InlineCompletionTriggerKind.Automatic,
): InlineCompletionParams {
  return { textDocument: { uri: documentUri }, position: { line, character }, context: { triggerKind: trigger } };
}

export function workspaceSymbolParams(query: string): WorkspaceSymbolParams {
  return { query };
}

// `node out/test/protocol/languageClient.js` prints the capabilities (the end-to-end test compares them).
if (require.main === module) {
  process.stdout.write(`${JSON.stringify(libraryClientCapabilities())}\n`);
}

// What vscode-languageclient 10 sends on its own (not through the extension's code): the client
// capabilities the server looks at, and the inline-completion and workspace-symbol requests it builds for
// VS Code's ghost text and "Go to Symbol in Workspace". Written from its source (lib/common/*.js:
// fillClientCapabilities, codeConverter.asInlineCompletionParams); only the parts the server reads matter.
import {
  InlineCompletionTriggerKind,
  type ClientCapabilities,
  type InlineCompletionParams,
  type WorkspaceSymbolParams,
} from "vscode-languageserver-protocol";

export const CLIENT_CAPABILITIES: ClientCapabilities = {
  workspace: {
    applyEdit: true,
    workspaceEdit: { documentChanges: true },
    didChangeConfiguration: { dynamicRegistration: true },
    didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
    symbol: { dynamicRegistration: true, resolveSupport: { properties: ["location.range"] } },
    executeCommand: { dynamicRegistration: true },
    configuration: true,
    workspaceFolders: true,
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, willSave: true, willSaveWaitUntil: true, didSave: true },
    completion: { dynamicRegistration: true, completionItem: { snippetSupport: true } },
    inlineCompletion: { dynamicRegistration: true },
  },
  window: {
    workDoneProgress: true,
    showMessage: { messageActionItem: { additionalPropertiesSupport: true } },
    showDocument: { support: true },
  },
  general: { positionEncodings: ["utf-16"] },
};

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

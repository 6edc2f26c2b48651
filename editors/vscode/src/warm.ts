// Pre-warming: when the cursor arrives at a new place (a file opened, another line), tell the server, which
// evaluates the prompt there into its model's cache while the user reads, so the first suggestion is fast.
import * as vscode from "vscode";

import type { ServerClient } from "./client";
import { PlaceTracker } from "./core/requests";

/** How long the cursor must rest before the server is told (arrow keys held down send nothing). */
const REST_MS = 250;

export function registerWarming(server: ServerClient): vscode.Disposable[] {
  const places = new PlaceTracker();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arrived = (editor: vscode.TextEditor | undefined): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
    }
    if (editor?.document.uri.scheme !== "file") {
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      const cursor = editor.selection.active;
      if (places.moved(editor.document.uri.toString(), cursor.line)) {
        void server.warm(editor.document.uri.toString(), cursor.line, cursor.character);
      }
    }, REST_MS);
  };
  return [
    vscode.window.onDidChangeActiveTextEditor(arrived),
    vscode.window.onDidChangeTextEditorSelection((event) => {
      arrived(event.textEditor);
    }),
    new vscode.Disposable(() => {
      if (timer !== undefined) {
        clearTimeout(timer);
      }
    }),
  ];
}

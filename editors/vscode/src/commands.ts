// The palette commands: each asks the server with `workspace/executeCommand` and shows the answer.
import * as vscode from "vscode";

import { activeFolder, errorMessage, type ServerClient } from "./client";
import { searchResults } from "./config";
import {
  adapterReportText,
  fileIn,
  indexSummaryText,
  searchPicks,
  sourcePicks,
  sourcesText,
  statusLines,
  firstLine,
  type LocationPick,
} from "./core/present";
import {
  reindexRequest,
  searchRequest,
  sourcesRequest,
  statusRequest,
  trainAdapterRequest,
  type AdapterReport,
  type IndexSummary,
  type LastSuggestion,
  type SearchAnswer,
  type ServerStatus,
} from "./core/requests";

/** The contributed command ids (package.json); they differ from the server's own `copilotIndex.*` commands,
 * which vscode-languageclient registers under their names. */
export const COMMANDS = {
  search: "copilotIndex.searchCodebase",
  reindex: "copilotIndex.reindexWorkspace",
  rebuild: "copilotIndex.rebuildIndex",
  trainAdapter: "copilotIndex.trainLoraAdapter",
  status: "copilotIndex.showStatus",
  sources: "copilotIndex.showSuggestionSources",
  restart: "copilotIndex.restartServer",
  log: "copilotIndex.showLog",
} as const;

type Pick = vscode.QuickPickItem & { location?: LocationPick };

async function open(root: string, pick: LocationPick): Promise<void> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(fileIn(root, pick.path)));
  const start = new vscode.Position(Math.max(0, pick.startLine - 1), 0);
  const editor = await vscode.window.showTextDocument(document, { selection: new vscode.Range(start, start) });
  const end = new vscode.Position(Math.max(0, pick.endLine - 1), 0);
  editor.revealRange(new vscode.Range(start, end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

async function chooseAndOpen(root: string, items: Pick[], title: string): Promise<void> {
  const chosen = await vscode.window.showQuickPick(items, { title, matchOnDescription: true, matchOnDetail: true });
  if (chosen?.location !== undefined) {
    await open(root, chosen.location);
  }
}

function asItems(picks: LocationPick[]): Pick[] {
  return picks.map((location) => ({ ...location, location }));
}

/** The word at the cursor or the selection, to start a search with. */
function selectedText(): string {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) {
    return "";
  }
  const selection = editor.selection;
  const range = selection.isEmpty ? editor.document.getWordRangeAtPosition(selection.active) : selection;
  return range === undefined ? "" : firstLine(editor.document.getText(range), 200);
}

export function registerCommands(server: ServerClient): vscode.Disposable[] {
  const guarded = (run: () => Promise<void>) => async () => {
    try {
      await run();
    } catch (error) {
      const message = `copilot-index: ${errorMessage(error)}`;
      server.log.error(message);
      void vscode.window.showErrorMessage(message);
    }
  };
  const folder = (): string | undefined => activeFolder()?.uri.toString();

  const search = async (): Promise<void> => {
    const query = await vscode.window.showInputBox({
      title: "copilot-index: Search Codebase",
      prompt: "Describe the code you are looking for, or name it",
      value: selectedText(),
    });
    if (query === undefined || query.trim() === "") {
      return;
    }
    const where = folder();
    const answer = await server.execute<SearchAnswer>(searchRequest(query, searchResults(), where));
    if (answer.results.length === 0) {
      void vscode.window.showInformationMessage(`copilot-index: nothing found for "${query}".`);
      return;
    }
    const root = await server.rootOf(where);
    await chooseAndOpen(root, asItems(searchPicks(answer.results)), `copilot-index: ${query}`);
  };

  const reindex = (rebuild: boolean) => async (): Promise<void> => {
    // The server reports the run's progress itself; the status bar shows it.
    const summary = await server.execute<IndexSummary>(reindexRequest(rebuild, folder()));
    void server.refreshStatus();
    void vscode.window.showInformationMessage(`copilot-index: ${indexSummaryText(summary)}`);
  };

  const trainAdapter = async (): Promise<void> => {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "copilot-index: training the adapter", cancellable: true },
      async (progress, token) => {
        const follow = server.statusBar.onDidChange(() => {
          const work = server.statusBar.model.running().find((w) => w.title.startsWith("Training"));
          if (work?.message !== undefined) {
            progress.report({ message: work.message });
          }
        });
        try {
          return await server.execute<AdapterReport>(trainAdapterRequest(folder()), token);
        } catch (error) {
          if (token.isCancellationRequested) {
            return undefined;
          }
          throw error;
        } finally {
          follow.dispose();
        }
      },
    );
    void server.refreshStatus();
    if (report === undefined) {
      void vscode.window.showInformationMessage("copilot-index: adapter training was cancelled; nothing changed.");
      return;
    }
    server.log.info(`Adapter training: ${JSON.stringify(report)}`);
    void vscode.window.showInformationMessage(`copilot-index: ${adapterReportText(report)}`);
  };

  const status = async (): Promise<void> => {
    if (server.statusBar.model.state === "failed") {
      server.log.show();
      return;
    }
    const answer = await server.execute<ServerStatus>(statusRequest(folder()));
    server.statusBar.setStatus(answer);
    server.log.info(`Status\n${statusLines(answer).join("\n")}`);
    const action = await vscode.window.showInformationMessage(
      `copilot-index: ${server.statusBar.model.view().tooltip.split("\n").join(" · ")}`,
      "Details",
      "Reindex",
    );
    if (action === "Details") {
      server.log.show(true);
    } else if (action === "Reindex") {
      await vscode.commands.executeCommand(COMMANDS.reindex);
    }
  };

  const sources = async (): Promise<void> => {
    const document = vscode.window.activeTextEditor?.document;
    if (document === undefined) {
      void vscode.window.showInformationMessage("copilot-index: open the file with the suggestion first.");
      return;
    }
    const last = await server.execute<LastSuggestion | null>(sourcesRequest(document.uri.toString()));
    server.log.info(`Suggestion sources for ${document.uri.fsPath}\n${sourcesText(last)}`);
    if (last === null || last.sources.length === 0) {
      void vscode.window.showInformationMessage(`copilot-index: ${sourcesText(last).split("\n").join(" ")}`);
      return;
    }
    const guards: Pick[] = last.guard.map((g) => ({ label: `$(shield) ${g.guard}: ${g.action}`, detail: g.reason }));
    const items: Pick[] = [
      ...asItems(sourcePicks(last)),
      ...(guards.length > 0 ? [{ label: "Guards", kind: vscode.QuickPickItemKind.Separator }, ...guards] : []),
    ];
    const root = await server.rootOf(folder());
    await chooseAndOpen(root, items, `Sources of: ${firstLine(last.completion) || "(empty suggestion)"}`);
  };

  return [
    vscode.commands.registerCommand(COMMANDS.search, guarded(search)),
    vscode.commands.registerCommand(COMMANDS.reindex, guarded(reindex(false))),
    vscode.commands.registerCommand(COMMANDS.rebuild, guarded(reindex(true))),
    vscode.commands.registerCommand(COMMANDS.trainAdapter, guarded(trainAdapter)),
    vscode.commands.registerCommand(COMMANDS.status, guarded(status)),
    vscode.commands.registerCommand(COMMANDS.sources, guarded(sources)),
    vscode.commands.registerCommand(COMMANDS.restart, guarded(() => server.restart())),
    vscode.commands.registerCommand(COMMANDS.log, () => {
      server.log.show();
    }),
  ];
}

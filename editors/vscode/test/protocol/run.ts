// The protocol test: `node out/test/protocol/run.js SCENARIO.json` starts the real copilot-lsp on a
// repository, issues the requests the extension issues (through the extension's own request builders),
// and prints one JSON object with the answers and what the extension would show for them.
// tests/editors/test_vscode.py writes the scenario and checks the output.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

import {
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  InlineCompletionRequest,
  WorkspaceSymbolRequest,
  type ExecuteCommandParams,
  type SymbolInformation,
  type WorkspaceSymbol,
} from "vscode-languageserver-protocol/node";

import { searchPicks, sourcesText, statusLines } from "../../src/core/present";
import {
  reindexRequest,
  searchRequest,
  sourcesRequest,
  statusRequest,
  type IndexSummary,
  type LastSuggestion,
  type SearchAnswer,
  type ServerStatus,
} from "../../src/core/requests";
import { PULL_CONFIGURATION } from "../../src/core/settings";
import { inlineCompletionParams, workspaceSymbolParams } from "./languageClient";
import { Session, within } from "./session";

interface Scenario {
  workspace: string;
  /** settings.json values, keys without `copilotIndex.`. */
  userSettings: Record<string, unknown>;
  /** A second, short session started through `copilotIndex.pythonPath` (python -m). */
  pythonSettings?: Record<string, unknown>;
  /** Folder settings set during the session, followed by the change notification the extension sends. */
  folderSettingsLater: Record<string, unknown>;
  document: { path: string; languageId: string; text: string; line: number; character: number };
  search: string;
  symbol: string;
  searchResults: number;
  indexTimeoutSeconds: number;
}

const REQUEST_SECONDS = 60;

async function execute<T>(session: Session, params: ExecuteCommandParams): Promise<T> {
  const answer = session.connection.sendRequest(ExecuteCommandRequest.type, params) as Promise<T>;
  return within(answer, REQUEST_SECONDS, params.command);
}

/** Polls the status, as the status bar does after progress ends, until the first indexing run is over. */
async function indexed(session: Session, seconds: number): Promise<ServerStatus> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const status = await execute<ServerStatus>(session, statusRequest(session.folderUri));
    if ((status.indexing.runs >= 1 && !status.indexing.running) || Date.now() > deadline) {
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function symbols(session: Session, query: string): Promise<(SymbolInformation | WorkspaceSymbol)[]> {
  const answer = session.connection.sendRequest(WorkspaceSymbolRequest.type, workspaceSymbolParams(query));
  return (await within(answer, REQUEST_SECONDS, "workspace/symbol")) ?? [];
}

/** `ask()` again until `done(answer)` or `seconds` pass (a notification's effect has no answer to wait for). */
async function settled<T>(ask: () => Promise<T>, done: (answer: T) => boolean, seconds: number): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const answer = await ask();
    if (done(answer) || Date.now() > deadline) {
      return answer;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(scenario: Scenario): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const session = Session.start(scenario.workspace, scenario.userSettings);
  out.initializationOptions = session.settings;
  try {
    const init = await within(session.initialize(), REQUEST_SECONDS, "initialize");
    out.serverInfo = init.serverInfo;
    out.capabilities = init.capabilities;

    const doc = scenario.document;
    const uri = pathToFileURL(path.join(scenario.workspace, doc.path)).href;
    await session.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: doc.languageId, version: 1, text: doc.text },
    });

    const first = await indexed(session, scenario.indexTimeoutSeconds);
    out.firstStatus = first;

    const search = await execute<SearchAnswer>(session, searchRequest(scenario.search, scenario.searchResults, session.folderUri));
    out.search = search;
    out.searchPicks = searchPicks(search.results);

    const inline = session.connection.sendRequest(InlineCompletionRequest.type, inlineCompletionParams(uri, doc.line, doc.character));
    out.inline = await within(inline, REQUEST_SECONDS, "textDocument/inlineCompletion");

    const sources = await execute<LastSuggestion | null>(session, sourcesRequest(uri));
    out.sources = sources;
    out.sourcesText = sourcesText(sources);

    out.symbols = await symbols(session, scenario.symbol);

    // A settings change, as the extension sends it: the server asks again, now getting the folder's value.
    session.folderSettings = scenario.folderSettingsLater;
    const asked = session.heard.configurationRequests;
    await session.connection.sendNotification(DidChangeConfigurationNotification.type, PULL_CONFIGURATION);
    out.symbolsAfterChange = await settled(() => symbols(session, scenario.symbol), (found) => found.length > 1, 10);
    out.configurationRequestsAfterChange = session.heard.configurationRequests - asked;

    out.reindex = await execute<IndexSummary>(session, reindexRequest(false, session.folderUri));

    const status = await execute<ServerStatus>(session, statusRequest(session.folderUri));
    session.statusModel.status = status;
    out.status = status;
    out.statusLines = statusLines(status);
    out.statusBarFinal = session.statusModel.view();
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
  } finally {
    out.exitCode = await session.close().catch(() => null);
    out.heard = session.heard;
    out.stderr = session.stderr.slice(-4000);
  }
  if (scenario.pythonSettings !== undefined) {
    out.python = await pythonModule(scenario.workspace, scenario.pythonSettings);
  }
  return out;
}

/** The `python -m copilot_index.server.lsp` form: initialize, one status request, shutdown. */
async function pythonModule(workspace: string, userSettings: Record<string, unknown>): Promise<Record<string, unknown>> {
  const session = Session.start(workspace, userSettings);
  const out: Record<string, unknown> = { command: session.process.spawnargs };
  try {
    out.serverInfo = (await within(session.initialize(), REQUEST_SECONDS, "initialize")).serverInfo;
    out.status = await execute<ServerStatus>(session, statusRequest(session.folderUri));
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
  } finally {
    out.exitCode = await session.close().catch(() => null);
    out.stderr = session.stderr.slice(-4000);
  }
  return out;
}

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: node out/test/protocol/run.js SCENARIO.json");
  process.exit(2);
}
main(JSON.parse(readFileSync(file, "utf8")) as Scenario).then(
  (out) => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

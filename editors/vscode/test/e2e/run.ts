// The end-to-end test: `node out/test/e2e/run.js SCENARIO.json` starts a private code-server with the
// extension's .vsix, opens the scenario's git repository in headless Chromium (Debian's, driven by
// playwright-core) and does what a user does: waits for the status bar to report the index, types in a
// Python file until ghost text shows, accepts it with Tab, runs Search Codebase and Show Suggestion Sources
// from the command palette, and switches a setting off in the Settings editor. It writes what it saw to the
// scenario's results file; tests/editors/test_vscode_e2e.py checks it. A failed step leaves a screenshot.
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { chromium, type Browser } from "playwright-core";

import { CodeServer } from "./codeServer";
import { Workbench, waitFor } from "./workbench";

interface Scenario {
  workspace: string;
  codeServer: string;
  vsix: string;
  chromium: string;
  /** A fresh directory: code-server's state, the results. */
  home: string;
  /** Where a failed step leaves a screenshot. */
  failures: string;
  settings: Record<string, unknown>;
  env: Record<string, string>;
  /** The file to type in, the line (1-based) to retype and what to type there. */
  document: { name: string; line: number; typed: string };
  search: { query: string; pick: string };
  /** A boolean setting that is on, switched off in the Settings editor. */
  setting: string;
  /** "all"; "screenshot": only wait for the ghost text and keep a picture of it at `screenshot`;
   * "activation": only wait for the index and read the extension's activation time. */
  mode: "all" | "screenshot" | "activation";
  screenshot?: string;
  viewport: { width: number; height: number };
  indexSeconds: number;
  suggestionSeconds: number;
}

const STATUS_ITEM = "copilot-index.copilot-index.copilotIndex.status";
const READY = /^copilot-index: \d+ files · /;

type Results = Record<string, unknown> & {
  steps: Record<string, string>;
  seconds: Record<string, number>;
  failureScreenshots: string[];
};

class Run {
  readonly failures: string[] = [];
  readonly results: Results = { steps: {}, seconds: {}, failureScreenshots: this.failures };

  constructor(
    readonly scenario: Scenario,
    readonly workbench: Workbench,
    readonly server: CodeServer,
  ) {}

  /** Runs one step; a failure is recorded with a screenshot, and later steps that need it do not run. */
  async step(name: string, needs: string[], body: () => Promise<void>): Promise<void> {
    const missing = needs.filter((n) => this.results.steps[n] !== "ok");
    if (missing.length > 0) {
      this.results.steps[name] = `not run: ${missing.join(", ")} failed`;
      return;
    }
    const begun = Date.now();
    try {
      await body();
      this.results.steps[name] = "ok";
    } catch (error) {
      this.results.steps[name] = error instanceof Error ? error.message : String(error);
      const shot = path.join(this.scenario.failures, `${name}.png`);
      mkdirSync(path.dirname(shot), { recursive: true });
      try {
        await this.workbench.page.screenshot({ path: shot });
        this.failures.push(shot);
      } catch {
        // the page itself is gone: the step's error says why
      }
    } finally {
      this.results.seconds[name] = (Date.now() - begun) / 1000;
    }
  }

  /** The extension's output channel from `offset` on (the server's stderr and log messages, the client's log). */
  log(offset = 0): string {
    const file = this.server.outputChannelLog();
    return file === undefined ? "" : readFileSync(file, "utf8").slice(offset);
  }

  logSize(): number {
    const file = this.server.outputChannelLog();
    return file === undefined ? 0 : statSync(file).size;
  }
}

async function scenarioSteps(run: Run): Promise<void> {
  const { scenario, workbench, results } = run;
  const seconds = scenario.suggestionSeconds;

  await run.step("ready", [], async () => {
    results.statusBar = await waitFor(
      "the status bar to report the index",
      () => workbench.statusBarText(STATUS_ITEM),
      (text) => READY.test(text),
      scenario.indexSeconds,
    );
  });

  if (scenario.mode === "activation") {
    return;
  }

  await run.step("ghost", ["ready"], async () => {
    await workbench.openFromExplorer(scenario.document.name);
    await workbench.goToLine(scenario.document.line);
    await workbench.retypeLine(scenario.document.typed);
    // A suggestion counts once it has stayed the same for a moment (a newer request may replace it).
    let previous = "";
    const ghost = await waitFor(
      "ghost text after typing",
      async () => {
        const now = await workbench.ghostText();
        const steady = now.length > 0 && now[0] !== "" && JSON.stringify(now) === previous;
        previous = JSON.stringify(now);
        return steady ? now : [];
      },
      (now) => now.length > 0,
      seconds,
    );
    results.ghost = ghost;
    results.lineBeforeTab = (await workbench.visibleLines())[scenario.document.line - 1];
    if (scenario.screenshot !== undefined) {
      await workbench.page.screenshot({ path: scenario.screenshot });
    }
  });
  if (scenario.mode === "screenshot") {
    return;
  }

  await run.step("warm", ["ghost"], async () => {
    // Opening the file and moving to the line told the server where the cursor arrived (the trace shows it).
    results.warmLog = await waitFor(
      "the cursor's arrival to reach the server",
      () => Promise.resolve(run.log(0)),
      (log) => /Sending notification 'copilotIndex\/warm'[^\n]*\nParams: [^]*"line": \d+/.test(log),
      10,
    );
  });

  await run.step("accept", ["ghost"], async () => {
    await workbench.page.keyboard.press("Tab");
    results.lineAfterTab = await waitFor(
      "the suggestion in the document after Tab",
      async () => (await workbench.visibleLines())[scenario.document.line - 1] ?? "",
      (line) => line !== results.lineBeforeTab,
      5,
    );
    results.ghostAfterTab = await workbench.ghostText();
    results.cursorAfterTab = await workbench.cursorPosition();
    await workbench.page.keyboard.press("Control+s");
    const file = path.join(scenario.workspace, scenario.document.name);
    // (code-server may have saved the typed line already: auto save)
    const accepted = results.lineAfterTab as string;
    results.fileAfterSave = await waitFor(
      "the saved file",
      () => Promise.resolve(readFileSync(file, "utf8")),
      (text) => text.split("\n").includes(accepted),
      5,
    );
  });

  await run.step("palette", ["ready"], async () => {
    results.palette = await workbench.paletteEntries("copilot-index: ");
  });

  await run.step("sources", ["accept"], async () => {
    await workbench.runCommand("copilot-index: Show Suggestion Sources");
    results.sourcesTitle = await waitFor("the sources quick pick", () => workbench.quickInputTitle(), (t) => t !== "", 10);
    results.sourcesItems = await workbench.quickPickItems();
    await workbench.page.keyboard.press("Escape");
  });

  await run.step("search", ["ready"], async () => {
    await workbench.runCommand("copilot-index: Search Codebase");
    await waitFor("the query box", () => workbench.quickInputTitle(), (t) => t === "copilot-index: Search Codebase", 10);
    await workbench.quickInputBox().fill(scenario.search.query);
    await workbench.page.keyboard.press("Enter");
    const title = `copilot-index: ${scenario.search.query}`;
    await waitFor("the search results", () => workbench.quickInputTitle(), (t) => t === title, seconds);
    results.searchItems = await waitFor("search results", () => workbench.quickPickItems(), (items) => items.length > 0, 10);
    await workbench.quickInputRows().filter({ hasText: scenario.search.pick }).first().click();
    const file = scenario.search.pick.split(":")[0] ?? "";
    results.searchTab = await waitFor("the result's file", () => workbench.activeTab(), (tab) => tab === file, 10);
    results.searchCursor = await workbench.cursorPosition();
  });

  await run.step("setting", ["ready"], async () => {
    const offset = run.logSize();
    const box = await workbench.settingCheckbox(scenario.setting);
    results.settingBefore = await box.getAttribute("aria-checked");
    await box.click();
    results.settingAfter = await waitFor("the checkbox", () => box.getAttribute("aria-checked"), (v) => v === "false", 5);
    const key = scenario.setting.split(".").pop() ?? "";
    // The server asks for its settings again; the trace the scenario turns on logs the extension's answer.
    const answer = new RegExp(`Sending response 'workspace/configuration[^\\n]*\\nResult: [^]*"${key}": false`);
    results.settingLog = await waitFor(
      "the server to receive the new setting",
      () => Promise.resolve(run.log(offset)),
      (log) => answer.test(log),
      20,
    );
  });

  await run.step("sourcesAfterSetting", ["setting", "accept"], async () => {
    await workbench.activateTab(scenario.document.name);
    await workbench.goToLine(scenario.document.line);
    const offset = run.logSize();
    await workbench.retypeLine(scenario.document.typed);
    await waitFor("a suggestion after the change", () => workbench.ghostText(), (g) => g.length > 0 && g[0] !== "", seconds);
    await workbench.runCommand("copilot-index: Show Suggestion Sources");
    results.sourcesAfterSetting = await waitFor(
      "the sources message",
      () => workbench.notifications(),
      (shown) => shown.some((m) => m.includes("Sources:")),
      10,
    );
    results.sourcesLogAfterSetting = run.log(offset);
  });
}

/** How VS Code saw the extension start: the activation event and the time "Show Running Extensions" gives. */
async function activation(run: Run): Promise<void> {
  const { workbench, results } = run;
  await run.step("activation", ["ready"], async () => {
    results.activationEvent = /ExtensionService#_doActivateExtension copilot-index\.copilot-index[^\n]*/.exec(
      run.server.extensionHostLog(),
    )?.[0];
    await workbench.runCommand("Developer: Show Running Extensions");
    const row = workbench.page.locator(".runtime-extensions-editor .monaco-list-row", { hasText: "copilot-index" });
    results.runningExtension = await waitFor(
      "the extension's activation time",
      async () => ((await row.count()) > 0 ? await row.first().innerText() : ""),
      (text) => /Activation: \d+ms/.test(text),
      10,
    );
  });
}

async function main(scenario: Scenario): Promise<Results> {
  mkdirSync(scenario.home, { recursive: true });
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let run: Run | undefined;
  const results: Results = { steps: {}, seconds: {}, failureScreenshots: [] };
  const started = Date.now();
  try {
    server = await CodeServer.start({
      entry: scenario.codeServer,
      vsix: scenario.vsix,
      home: path.join(scenario.home, "code-server"),
      settings: scenario.settings,
      env: scenario.env,
    });
    results.seconds.codeServer = (Date.now() - started) / 1000;
    browser = await chromium.launch({
      executablePath: scenario.chromium,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    const page = await browser.newPage({ viewport: scenario.viewport });
    const workbench = new Workbench(page);
    await workbench.load(server.folderUrl(scenario.workspace));
    results.seconds.workbench = (Date.now() - started) / 1000;
    run = new Run(scenario, workbench, server);
    await scenarioSteps(run);
    if (scenario.mode !== "screenshot") {
      await activation(run);
    }
    Object.assign(results, run.results, { seconds: { ...results.seconds, ...run.results.seconds } });
  } catch (error) {
    results.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  } finally {
    const log = server?.outputChannelLog();
    if (log !== undefined) {
      results.outputChannel = path.join(scenario.home, "copilot-index.log");
      copyFileSync(log, results.outputChannel as string);
    }
    await browser?.close().catch(() => undefined);
    await server?.stop();
    results.seconds.total = (Date.now() - started) / 1000;
  }
  return results;
}

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: node out/test/e2e/run.js SCENARIO.json");
  process.exit(2);
}
const scenario = JSON.parse(readFileSync(file, "utf8")) as Scenario;
main(scenario).then(
  (results) => {
    writeFileSync(path.join(scenario.home, "results.json"), JSON.stringify(results, null, 2));
    process.stdout.write(`${JSON.stringify({ steps: results.steps, seconds: results.seconds })}\n`);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

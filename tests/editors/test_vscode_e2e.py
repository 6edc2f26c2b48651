"""The VS Code extension in a real VS Code: code-server 4.96 (VS Code 1.96 in the browser) with the built
`.vsix` installed, on a temporary git repository with the tiny model, driven by playwright-core in Debian's
headless Chromium (`editors/vscode/test/e2e/run.ts`). One session walks through what a user does first; each
test checks its part of what the session saw. The session starts and stops its own code-server on 127.0.0.1
with temporary user-data, extensions and config folders; a failed step leaves a screenshot in
`editors/vscode/test-results/` (the assertion message names it).

`editors/vscode/scripts/install-e2e.sh` installs code-server, Chromium and ripgrep (`.ci/run` calls it; this
test calls it too, and it does nothing once they are there).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from editor_repo import RINGS, make_repo

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"
CODE_SERVER = EXTENSION / "e2e" / "node_modules" / "code-server" / "out" / "node" / "entry.js"
VSIX = EXTENSION / "copilot-index.vsix"
FAILURES = EXTENSION / "test-results"
NODE = shutil.which("node")
NPM = shutil.which("npm")

DOCUMENT, LINE = "rings.py", 5
TYPED = "return circle_area(outer) - "
PARTIAL = "    " + TYPED  # the line keeps its indentation
SETTING = "copilotIndex.completion.retrieval"


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths), default=0.0)


@pytest.fixture(scope="module")
def vsix() -> Path:
    """The packaged extension, built again when a source is newer than it; and the compiled test driver."""
    assert NODE and NPM, "node and npm are needed for the VS Code extension tests (Node 20+)"
    if not (EXTENSION / "node_modules").is_dir():
        subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=EXTENSION, check=True, capture_output=True)
    sources = [*EXTENSION.glob("src/**/*.ts"), *EXTENSION.glob("test/**/*.ts"), EXTENSION / "package.json",
               EXTENSION / "esbuild.mjs"]
    outputs = [VSIX, *(EXTENSION / "out" / "test" / "e2e").glob("*.js")]
    if not all(p.exists() for p in outputs) or _newest(sources) > min(p.stat().st_mtime for p in outputs):
        for script in ("compile", "package"):
            done = subprocess.run([NPM, "run", script], cwd=EXTENSION, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
    return VSIX


@pytest.fixture(scope="module")
def code_server() -> Path:
    done = subprocess.run(["bash", str(EXTENSION / "scripts" / "install-e2e.sh")], capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    assert CODE_SERVER.is_file()
    return CODE_SERVER


@pytest.fixture(scope="module")
def session(vsix: Path, code_server: Path, tmp_path_factory: pytest.TempPathFactory,
            tiny_model_dir: Path) -> dict[str, Any]:
    """One VS Code session through every step; each test checks its part of the recorded results."""
    tmp = tmp_path_factory.mktemp("vscode-e2e")
    # FIM prompts: the tiny model then suggests words here rather than blanks (as in test_nvim.py).
    repo = make_repo(tmp / "repo", tiny_model_dir, completion_toml='fim = "on"\n')
    home = tmp / "session"
    shutil.rmtree(FAILURES, ignore_errors=True)
    scenario = {
        "workspace": str(repo),
        "codeServer": str(code_server),
        "vsix": str(vsix),
        "chromium": shutil.which("chromium") or "/usr/bin/chromium",
        "home": str(home),
        "failures": str(FAILURES),
        "settings": {
            "workbench.startupEditor": "none",
            "workbench.colorTheme": "Default Dark Modern",
            "workbench.tips.enabled": False,
            "telemetry.telemetryLevel": "off",
            "update.mode": "none",
            "extensions.autoCheckUpdates": False,
            "extensions.autoUpdate": False,
            "git.autofetch": False,
            "copilotIndex.server.command": str(Path(sys.executable).parent / "copilot-lsp"),
            "copilotIndex.server.logLevel": "debug",
            "copilotIndex.trace.server": "verbose",  # and the LSP traffic, without touching the channel's level
            "copilotIndex.lsp.index_debounce_ms": 100,
            "copilotIndex.completion.max_tokens": 12,
        },
        "env": {"COPILOT_INDEX_HOME": str(tmp / "data"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        "document": {"name": DOCUMENT, "line": LINE, "typed": TYPED},
        "search": {"query": "circle area radius", "pick": "geometry.py:4"},
        "setting": SETTING,
        "mode": "all",
        "viewport": {"width": 1280, "height": 720},
        "indexSeconds": 90,
        "suggestionSeconds": 30,
    }
    scenario_file = tmp / "scenario.json"
    scenario_file.write_text(json.dumps(scenario), "utf-8")
    done = subprocess.run([NODE or "node", str(EXTENSION / "out" / "test" / "e2e" / "run.js"), str(scenario_file)],
                          cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    results_file = home / "results.json"
    assert done.returncode == 0 and results_file.is_file(), f"the e2e driver failed: {done.stdout}\n{done.stderr}"
    results: dict[str, Any] = json.loads(results_file.read_text("utf-8"))
    assert "error" not in results, results["error"]
    log = Path(results["outputChannel"]) if results.get("outputChannel") else None
    results["log"] = log.read_text("utf-8") if log is not None else ""
    results["repo"] = str(repo)
    results["data"] = scenario["env"]["COPILOT_INDEX_HOME"]
    results["library_capabilities"] = json.loads(subprocess.run(
        [NODE or "node", str(EXTENSION / "out" / "test" / "protocol" / "languageClient.js")], cwd=EXTENSION,
        capture_output=True, text=True, check=True).stdout)
    return results


def _step(session: dict[str, Any], name: str) -> None:
    shots = session.get("failureScreenshots") or []
    assert session["steps"].get(name) == "ok", f"step {name}: {session['steps'].get(name)} (screenshots: {shots})"


def test_the_status_bar_reports_the_index_and_the_model(session: dict[str, Any]) -> None:
    _step(session, "ready")
    assert re.fullmatch(r"copilot-index: \d+ files · model", session["statusBar"]), session["statusBar"]


def test_the_extension_activates_when_the_folder_has_a_git_repository(session: dict[str, Any]) -> None:
    _step(session, "activation")
    assert "activationEvent: 'workspaceContains:.git'" in session["activationEvent"]
    assert re.search(r"\bActivation: \d+ms", session["runningExtension"]), session["runningExtension"]


def test_the_palette_lists_the_commands(session: dict[str, Any]) -> None:
    _step(session, "palette")
    for title in ("Search Codebase", "Reindex", "Rebuild Index", "Train Adapter", "Show Status",
                  "Show Suggestion Sources", "Restart Server", "Show Log"):
        assert f"copilot-index: {title}" in session["palette"], session["palette"]


def test_typing_shows_ghost_text_and_tab_accepts_it(session: dict[str, Any]) -> None:
    _step(session, "ghost")
    ghost = session["ghost"]
    assert ghost and ghost[0].strip(), ghost
    assert session["lineBeforeTab"] == PARTIAL  # the ghost text is not in the document yet
    _step(session, "accept")
    suggestion = "\n".join(ghost)
    assert session["lineAfterTab"] == PARTIAL + ghost[0]
    assert session["ghostAfterTab"] == [] or session["ghostAfterTab"] != ghost
    lines = RINGS.split("\n")
    lines[LINE - 1] = PARTIAL + suggestion
    assert session["fileAfterSave"] == "\n".join(lines)
    column = len(PARTIAL + ghost[-1]) + 1 if len(ghost) == 1 else len(ghost[-1]) + 1
    assert session["cursorAfterTab"] == f"Ln {LINE + len(ghost) - 1}, Col {column}"


def test_arriving_at_a_line_tells_the_server_to_warm_its_model(session: dict[str, Any]) -> None:
    _step(session, "warm")
    sent = re.findall(r"Sending notification 'copilotIndex/warm'[^\n]*\nParams: (\{.*?\n\})", session["warmLog"], re.S)
    assert any(json.loads(params)["position"]["line"] == LINE - 1 for params in sent), sent


def test_show_suggestion_sources_lists_the_retrieved_code(session: dict[str, Any]) -> None:
    _step(session, "sources")
    assert session["sourcesTitle"].startswith("Sources of: ")
    items = session["sourcesItems"]
    sources = [item for item in items if item.startswith("references ")]
    assert sources and all(re.search(r"\b(geometry|rings)\.py:\d+-\d+, grounded the suggestion", s) for s in sources)
    assert any("geometry.py" in source for source in sources), items
    guards = {item.split()[1] for item in items if item.startswith("shield ")}  # below a "Guards" separator
    assert guards == {"secrets:", "security:", "license:"}, items


def test_search_codebase_opens_the_definition(session: dict[str, Any]) -> None:
    _step(session, "search")
    assert "circle_area" in session["searchItems"][0] and "geometry.py:4" in session["searchItems"][0]
    assert session["searchTab"] == "geometry.py"
    assert session["searchCursor"] == "Ln 4, Col 1"  # `def circle_area(radius):`


def test_a_setting_changed_in_the_settings_editor_reaches_the_server(session: dict[str, Any]) -> None:
    _step(session, "setting")
    assert (session["settingBefore"], session["settingAfter"]) == ("true", "false")
    # The server asked for its settings again (globally, then for the folder) and got the new value; the trace
    # in the output channel shows the extension's answer.
    answers = re.findall(r"Sending response 'workspace/configuration - \([^)]*\)'\. Processing request took \d+ms\.\n"
                         r"Result: (\[.*?\n\])\n", session["settingLog"], re.S)
    assert answers, session["settingLog"][-3000:]
    assert [item["completion"]["retrieval"] for item in json.loads(answers[-1])] == [False, False]
    # ... and the server took it: its own log names the section that changed.
    assert re.search(r"settings changed for \S+: [^\n]*completion", session["log"]), session["log"][-3000:]


def test_with_retrieval_off_the_next_suggestion_has_no_sources(session: dict[str, Any]) -> None:
    _step(session, "sourcesAfterSetting")
    shown = " ".join(session["sourcesAfterSetting"])
    assert "Sources: (no code was retrieved)" in shown, shown
    assert "(no code was retrieved)" in session["sourcesLogAfterSetting"]


def test_the_server_log_keeps_its_levels(session: dict[str, Any]) -> None:
    log = session["log"]  # copilot-lsp -vv: its debug and info records on stderr
    assert re.search(r" \[info\] DEBUG copilot_index\.\S+: ", log) and re.search(r" \[info\] copilot_index\.\S+: ", log)
    assert not re.search(r"\[error\] \d{4}-\d\d-\d\d ", log), "server records were logged as errors"


def test_the_trace_setting_alone_shows_the_lsp_traffic(session: dict[str, Any]) -> None:
    assert "Sending request 'initialize - (0)'" in session["log"]
    assert "Received response 'textDocument/inlineCompletion" in session["log"]


def test_the_library_capabilities_are_what_vscode_sends(session: dict[str, Any]) -> None:
    """test/protocol takes the client capabilities from vscode-languageclient outside VS Code; the client
    inside VS Code sends these in `initialize` (from the trace)."""
    found = re.search(r"Sending request 'initialize - \(0\)'\.\nParams: (\{.*?\n\})\n", session["log"], re.S)
    assert found, "no initialize request in the trace"
    sent = json.loads(found.group(1))["capabilities"]
    assert sent == session["library_capabilities"]


def test_code_server_and_the_language_server_are_gone(session: dict[str, Any]) -> None:
    # Everything the session started inherited its environment, with this session's own data folder.
    marker = f"COPILOT_INDEX_HOME={session['data']}".encode()
    left = []
    for proc in Path("/proc").iterdir():
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                left.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue  # gone, or not ours to read
    assert not left, left

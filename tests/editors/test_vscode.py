"""The VS Code extension (editors/vscode) without VS Code (test_vscode_e2e.py runs it in a real one), against
the real `copilot-lsp` on a temporary git repository with the tiny model:

- the extension's unit tests (`node --test`: settings, server command, quick-pick items, status bar text);
- its protocol path: a Node script (test/protocol/run.ts) that talks to the real server through the same
  protocol library as vscode-languageclient, announcing the client capabilities vscode-languageclient itself
  computes, with the extension's own settings, launch and request code, and prints the answers and what the
  extension would show for them;
- that the settings package.json contributes are ones the server accepts, with the server's defaults.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from editor_repo import RINGS, make_repo

from copilot_index.conventions.guards import GuardConfig
from copilot_index.indexer.config import IndexConfig
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.settings import LspConfig

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"
NODE = shutil.which("node")
NPM = shutil.which("npm")

PARTIAL = "    return circle_area(outer) -"  # (the tiny model writes only spaces after "- ", which is never shown)
SERVER_COMMANDS = {"copilotIndex.search", "copilotIndex.reindex", "copilotIndex.status",
                   "copilotIndex.trainAdapter", "copilotIndex.suggestionSources"}


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths), default=0.0)


@pytest.fixture(scope="module")
def built() -> Path:
    """The compiled extension and tests (out/) and the bundle (dist/): `npm ci` when node_modules is missing,
    `npm run compile` and `npm run bundle` when they are stale."""
    assert NODE and NPM, "node and npm are needed for the VS Code extension tests (Node 20+)"
    if not (EXTENSION / "node_modules").is_dir():
        subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=EXTENSION, check=True, capture_output=True)
    sources = [*EXTENSION.glob("src/**/*.ts"), *EXTENSION.glob("test/**/*.ts"), EXTENSION / "tsconfig.json"]
    outputs = [*(EXTENSION / "out").glob("**/*.js"), EXTENSION / "dist" / "extension.js"]
    if not all(p.exists() for p in outputs) or _newest(sources) > min(p.stat().st_mtime for p in outputs):
        for script in ("compile", "bundle"):
            done = subprocess.run([NPM, "run", script], cwd=EXTENSION, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
    return EXTENSION / "out"


@pytest.fixture(scope="module")
def protocol(built: Path, tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    """One run of the protocol script on a fresh repository; each test checks its part of the output."""
    tmp = tmp_path_factory.mktemp("vscode")
    repo = make_repo(tmp / "repo", tiny_model_dir)

    lines = RINGS.split("\n")
    lines[4] = PARTIAL
    bin_dir = Path(sys.executable).parent
    scenario = {
        "workspace": str(repo),
        # settings.json as a user would write it (without the `copilotIndex.` prefix)
        "userSettings": {
            "server.command": str(bin_dir / "copilot-lsp"),
            "lsp.index_debounce_ms": 100,
            "lsp.symbol_results": 1,
            "completion.max_tokens": 12,
        },
        # then set in the folder's settings, followed by the change notification the extension sends
        "folderSettingsLater": {"lsp.symbol_results": 2},
        "pythonSettings": {"pythonPath": sys.executable, "lsp.index_on_start": False},
        "document": {"path": "rings.py", "languageId": "python", "text": "\n".join(lines),
                     "line": 4, "character": len(PARTIAL)},
        "search": "circle area radius",
        "symbol": "circle_area",
        "searchResults": 5,
        "indexTimeoutSeconds": 120,
    }
    scenario_file = tmp / "scenario.json"
    scenario_file.write_text(json.dumps(scenario), "utf-8")
    env = {**os.environ, "COPILOT_INDEX_HOME": str(tmp / "data"), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([NODE, str(built / "test" / "protocol" / "run.js"), str(scenario_file)], cwd=EXTENSION,
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.strip(), f"protocol script failed: {done.stdout}\n{done.stderr}"
    results: dict[str, Any] = json.loads(done.stdout)
    assert "error" not in results, f"{results['error']}\nserver stderr:\n{results.get('stderr')}"
    results["repo"] = str(repo)
    results["model"] = str(tiny_model_dir)
    return results


def test_unit_tests_pass(built: Path) -> None:
    tests = sorted(str(p) for p in (built / "test" / "unit").glob("*.test.js"))
    assert tests
    done = subprocess.run([NODE or "node", "--test", *tests], cwd=EXTENSION, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout


def test_the_server_advertises_inline_completion_commands_and_symbols(protocol: dict[str, Any]) -> None:
    capabilities = protocol["capabilities"]
    # `{}` (InlineCompletionOptions without fields) is what vscode-languageclient registers the provider for
    assert capabilities.get("inlineCompletionProvider") not in (None, False)
    assert SERVER_COMMANDS <= set(capabilities["executeCommandProvider"]["commands"])
    assert capabilities.get("workspaceSymbolProvider") not in (None, False)
    assert protocol["serverInfo"]["name"] == "copilot-lsp"


def test_settings_reach_the_server_in_its_shape(protocol: dict[str, Any]) -> None:
    assert protocol["initializationOptions"] == {
        "lsp": {"index_debounce_ms": 100, "symbol_results": 1},
        "completion": {"max_tokens": 12},
    }
    heard = protocol["heard"]
    assert heard["configurationRequests"] >= 1  # answered with the same settings
    assert not heard["shownMessages"], heard["shownMessages"]  # a bad key or shape would be reported here
    assert "workspace/didChangeWatchedFiles" in heard["registrations"]


def test_search_finds_the_definition_and_becomes_quick_pick_items(protocol: dict[str, Any]) -> None:
    top = protocol["search"]["results"][0]
    assert (top["path"], top["start_line"]) == ("geometry.py", 4)
    pick = protocol["searchPicks"][0]
    assert pick["description"] == "geometry.py:4" and "circle_area" in pick["label"]
    assert (pick["path"], pick["startLine"]) == ("geometry.py", 4)


def test_inline_completion_returns_a_suggestion(protocol: dict[str, Any]) -> None:
    items = protocol["inline"]["items"]
    assert items and isinstance(items[0]["insertText"], str) and items[0]["insertText"]
    assert items[0]["range"]["start"] == {"line": 4, "character": len(PARTIAL)}
    assert items[0]["command"]["command"] == "copilotIndex.suggestionSources"


def test_the_sources_of_the_last_suggestion_come_back(protocol: dict[str, Any]) -> None:
    sources = protocol["sources"]
    assert sources is not None and sources["uri"].endswith("/rings.py")
    assert sources["completion"] == protocol["inline"]["items"][0]["insertText"]
    assert all((Path(protocol["repo"]) / s["path"]).is_file() for s in sources["sources"])
    assert protocol["sourcesText"].startswith("Suggestion (")


def test_workspace_symbol_finds_the_definition(protocol: dict[str, Any]) -> None:
    symbols = protocol["symbols"]
    assert len(symbols) == 1  # lsp.symbol_results = 1 from the user's settings
    assert symbols[0]["name"] == "circle_area"
    assert symbols[0]["location"]["uri"].endswith("/geometry.py")
    assert symbols[0]["location"]["range"]["start"]["line"] == 3


def test_a_settings_change_reaches_the_server_with_the_folder_scope(protocol: dict[str, Any]) -> None:
    assert protocol["configurationRequestsAfterChange"] >= 1  # the server asked again, globally and per folder
    assert len(protocol["symbolsAfterChange"]) == 2  # lsp.symbol_results = 2 from the folder's settings
    assert protocol["symbolsAfterChange"][0]["name"] == "circle_area"


def test_status_reports_the_index_and_the_model(protocol: dict[str, Any]) -> None:
    status = protocol["status"]
    assert status["index"]["files"] >= 2 and status["index"]["chunks"] >= 2
    assert status["model"] == protocol["model"]
    assert status["completion"]["generated"] >= 1
    assert Path(status["root"]).resolve() == Path(protocol["repo"]).resolve()
    assert protocol["reindex"]["files_scanned"] >= 2
    assert f"Model: {protocol['model']}" in protocol["statusLines"]
    bar = protocol["statusBarFinal"]["text"]
    assert bar.startswith("$(database) copilot-index: ") and bar.endswith(f" · {Path(protocol['model']).name}")


def test_indexing_progress_shows_in_the_status_bar(protocol: dict[str, Any]) -> None:
    progress = protocol["heard"]["progress"]
    assert any(p["kind"] == "begin" and p["title"] == "Indexing" for p in progress)
    assert any(p["kind"] == "end" for p in progress)
    assert any(text.startswith("$(sync~spin) Indexing") for text in protocol["heard"]["statusBar"])


def test_the_server_exits_cleanly(protocol: dict[str, Any]) -> None:
    assert protocol["exitCode"] == 0, protocol["stderr"]


def test_the_python_module_form_starts_the_server(protocol: dict[str, Any]) -> None:
    python = protocol["python"]
    assert "error" not in python, python
    assert python["command"][1:3] == ["-m", "copilot_index.server.lsp"]
    assert python["serverInfo"]["name"] == "copilot-lsp"
    assert Path(python["status"]["root"]).resolve() == Path(protocol["repo"]).resolve()
    assert python["exitCode"] == 0, python["stderr"]


@pytest.mark.parametrize("section", [LspConfig, CompletionConfig, IndexConfig, GuardConfig], ids=lambda s: s.SECTION)
def test_contributed_settings_are_server_settings_with_its_defaults(section: Any) -> None:
    manifest = json.loads((EXTENSION / "package.json").read_text("utf-8"))
    properties = manifest["contributes"]["configuration"]["properties"]
    prefix = f"copilotIndex.{section.SECTION}."
    contributed = {key[len(prefix):]: value["default"] for key, value in properties.items() if key.startswith(prefix)}
    assert contributed
    for name, default in contributed.items():
        node: Any = section()
        for part in name.split("."):  # `secrets.enabled` is a field of the `secrets` table
            fields = {f.name for f in dataclasses.fields(node) if f.name != "warnings"}
            assert part in fields, f"{prefix}{name} is not a server setting"
            node = getattr(node, part)
        assert default == node, f"{prefix}{name}: default {default!r}, the server's is {node!r}"

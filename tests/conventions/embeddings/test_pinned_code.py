"""`pinned_code.py`: a benchmark run with `--code REV` imports REV's `copilot_index`, not the checkout's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from pinned_code import LAYERS, pinned_environment, run_pinned, without_option  # noqa: E402

SHOW = "import copilot_index.indexer as layer\nprint(layer.WHERE, layer.__file__)\n"


def _layered_repo(repo, where: str) -> None:  # type: ignore[no-untyped-def]
    for name in LAYERS:
        repo.write(f"{name}/__init__.py", f"WHERE = {where!r}\n")
    repo.write("tools/show.py", SHOW)


def test_a_pinned_run_reads_the_revision_not_the_working_tree(repo, tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    _layered_repo(repo, "first")
    first = repo.commit("first")
    _layered_repo(repo, "edited during the run")  # the checkout moves on; the run must not see it

    tree, env = pinned_environment(first, repo.root, tmp_path / "pins")
    shown = subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True).stdout
    where, module = shown.split()
    assert where == "first" and Path(module).resolve().is_relative_to(tree.resolve())
    # Without the pin, the editable install answers: the project's own indexer, which has no WHERE.
    plain = subprocess.run([sys.executable, "-c", SHOW], capture_output=True, text=True, check=False)
    assert "AttributeError" in plain.stderr

    assert run_pinned(first, repo.root / "tools" / "show.py", [], repo.root, tmp_path / "pins") == 0
    assert "first" in capfd.readouterr().out
    # A second pin of the same commit reuses the worktree.
    assert pinned_environment(first[:10], repo.root, tmp_path / "pins")[0] == tree


def test_an_unknown_revision_is_one_sentence(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _layered_repo(repo, "first")
    repo.commit("first")
    with pytest.raises(SystemExit, match="not a commit of"):
        pinned_environment("no-such-branch", repo.root, tmp_path / "pins")


def test_the_code_option_is_taken_out_of_the_arguments() -> None:
    argv = ["--sets", "flask", "--code", "abc123", "--minutes", "12", "--work=/x"]
    assert without_option(argv, "--code") == ["--sets", "flask", "--minutes", "12", "--work=/x"]
    assert without_option(argv, "--work") == ["--sets", "flask", "--code", "abc123", "--minutes", "12"]

"""The real `pre-commit` tool running `copilot-index check` as a hook on a temporary repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepo

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]


def hook_config() -> str:
    # A local hook with the same entry and options as the published one in .pre-commit-hooks.yaml.
    return f"""repos:
  - repo: local
    hooks:
      - id: copilot-index-check
        name: copilot-index check
        entry: {BIN / "copilot-index"} check
        language: system
        types: [text]
        require_serial: true
"""


@pytest.fixture
def hooked(repo: GitRepo, tmp_path: Path) -> tuple[GitRepo, dict[str, str]]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PRE_COMMIT_COLOR": "never"}
    repo.write(".pre-commit-config.yaml", hook_config())
    repo.write("app/core.py", "def add_numbers(a, b):\n    return a + b\n")
    repo.commit("initial")
    subprocess.run([str(BIN / "pre-commit"), "install"], cwd=repo.root, env=env, check=True, capture_output=True)
    return repo, env


def commit(repo: GitRepo, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    subprocess.run(["git", "add", "-A"], cwd=repo.root, check=True)
    return subprocess.run(["git", "commit", "-m", message], cwd=repo.root, env=env, capture_output=True, text=True)


def head_message(repo: GitRepo) -> str:
    return repo.git("log", "-1", "--format=%s")


def test_a_commit_with_a_planted_secret_is_rejected(hooked: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = hooked
    repo.write("app/settings.py",
               'GITHUB_TOKEN = "ghp_Zx8Kq2Lm9Np4Rs7Tv1Wy3Ab6Cd0Ef5Gh2Ij8"\nAWS_ACCESS_KEY_ID = "AKIAQX7PLM2VN4HB9TZW"\n')
    result = commit(repo, env, "add settings")
    assert result.returncode != 0
    assert "app/settings.py:2:1: CIX100 possible secret (AWS Access Key" in result.stdout + result.stderr
    assert head_message(repo) == "initial"


def test_a_commit_with_an_insecure_call_is_rejected(hooked: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = hooked
    repo.write("app/run.py", "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    result = commit(repo, env, "add runner")
    assert result.returncode != 0 and "app/run.py:5:12: B602" in result.stdout + result.stderr
    assert head_message(repo) == "initial"


def test_a_clean_commit_passes(hooked: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = hooked
    repo.write("app/more.py", "def multiply_numbers(a, b):\n    return a * b\n")
    result = commit(repo, env, "add multiply")
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "copilot-index check" in output and "Passed" in output
    assert head_message(repo) == "add multiply"


def test_the_published_hook_manifest_is_valid() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(PROJECT / ".pre-commit-hooks.yaml"))}
    assert hooks["copilot-index-check"]["entry"] == "copilot-index check"
    assert hooks["copilot-index-check-system"]["language"] in ("system", "unsupported")  # renamed in pre-commit 4
    assert hooks["copilot-index-check"]["pass_filenames"] is True

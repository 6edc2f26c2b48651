"""The small repository both editor tests open: a geometry helper and a file that uses it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from copilot_index.indexer import set_trusted

GEOMETRY = '''import math


def circle_area(radius):
    """The area of a circle of the given radius."""
    return math.pi * radius * radius


def square_area(side):
    return side * side
'''
RINGS = '''from geometry import circle_area


def ring_area(outer, inner):
    return circle_area(outer) - circle_area(inner)
'''


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(repo: Path, model_dir: Path, lsp_toml: str = "", completion_toml: str = "") -> Path:
    """A committed git repository at `repo` whose completions use `model_dir`."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "user.name", "Test")
    (repo / "geometry.py").write_text(GEOMETRY, "utf-8")
    (repo / "rings.py").write_text(RINGS, "utf-8")
    # The tiny test model loops (`in in in ...`), which completion.tidy would cut to one word; the editors' tests
    # accept a word of a suggestion and keep the rest shown, so they need it whole (tidy has its own tests).
    toml = f'[completion]\nmodel = "{model_dir.as_posix()}"\ntidy = false\n{completion_toml}'
    toml += f"\n[lsp]\n{lsp_toml}" if lsp_toml else ""
    (repo / ".copilot-index.toml").write_text(toml, "utf-8")
    set_trusted(repo)  # the repository's file names the model: the user trusts this repository
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "code")
    return repo

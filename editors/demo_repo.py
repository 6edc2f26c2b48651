"""The small repository both editors' screenshot scripts open: a geometry helper and a file that uses it,
committed to git and indexed by `copilot-index`, so the suggestion is grounded in the helper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GEOMETRY = '''"""Plane shapes."""
import math


def circle_area(radius):
    """The area of a circle of the given radius."""
    return math.pi * radius * radius


def square_area(side):
    return side * side
'''
RINGS = '''"""Rings: the area between two circles."""
from geometry import circle_area


def disc_area(radius):
    return circle_area(radius)


def ring_area(outer, inner):
'''
TYPED = "return circle_area(outer) - "
"""What the screenshot types into `ring_area`'s body."""


def make_demo_repo(repo: Path, rings_tail: str = "") -> Path:
    """Write, commit and index the repository at `repo`; `rings_tail` ends `rings.py` (e.g. a `pass` to retype)."""
    repo.mkdir(parents=True)
    (repo / "geometry.py").write_text(GEOMETRY, "utf-8")
    (repo / "rings.py").write_text(RINGS + rings_tail, "utf-8")
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                ["-c", "user.name=shot", "-c", "user.email=shot@example.com", "commit", "-qm", "code"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True)
    index = Path(sys.executable).parent / "copilot-index"
    subprocess.run([str(index), "index", str(repo)], check=True, stdout=subprocess.DEVNULL)
    return repo

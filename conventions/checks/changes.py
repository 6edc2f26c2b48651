"""Which lines of which files to check: the staged diff, the working tree against HEAD, or whole files."""

from __future__ import annotations

import logging
import re
import subprocess  # nosec B404: git is run with fixed argument lists, never through a shell
from dataclasses import dataclass
from pathlib import Path

from copilot_index.indexer import CopilotIndexError

log = logging.getLogger(__name__)

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class ChangedFile:
    """A file to check: its text as it will be committed and the 1-based lines added or changed."""

    path: str
    text: str
    lines: set[int]
    added: bool
    """A new file (so whole-file conventions like the licence header apply)."""


def git(root: Path, *args: str) -> str:
    result = subprocess.run(  # nosec B603 B607: fixed git arguments
        ["git", *args], cwd=root, capture_output=True, text=True, encoding="utf-8", errors="replace"
    )
    if result.returncode != 0:
        raise CopilotIndexError(f"git {' '.join(args[:2])} failed in {root}: {result.stderr.strip()}")
    return result.stdout


def parse_diff(diff: str) -> dict[str, tuple[set[int], bool]]:
    """Added line numbers per path (new side) from `git diff -U0` output, and whether each file is new."""
    out: dict[str, tuple[set[int], bool]] = {}
    path: str | None = None
    new_file = False
    for line in diff.splitlines():
        if line.startswith("diff --git"):
            path, new_file = None, False
        elif line.startswith("new file mode"):
            new_file = True
        elif line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else None
            if path is not None:
                out.setdefault(path, (set(), new_file))
        elif path is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) if match.group(2) is not None else 1)
            out[path][0].update(range(start, start + count))
    return out


def has_head(root: Path) -> bool:
    return subprocess.run(  # nosec B603 B607
        ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True
    ).returncode == 0


def staged_changes(root: Path) -> list[ChangedFile]:
    """Added and changed lines of the index (what `git commit` would record), with the staged text."""
    diff = git(root, "diff", "--cached", "-U0", "--no-color", "--no-ext-diff", "--diff-filter=ACMR")
    files = []
    for path, (lines, added) in sorted(parse_diff(diff).items()):
        text = git(root, "show", f":{path}")
        if "\0" in text[:8192]:
            continue  # binary
        files.append(ChangedFile(path, text, lines, added))
    return files


def worktree_changes(root: Path, paths: list[str], is_git: bool) -> list[ChangedFile]:
    """Lines of these files that differ from HEAD (all lines of untracked files or outside git)."""
    diffs: dict[str, tuple[set[int], bool]] = {}
    tracked: set[str] = set()
    if is_git and paths and has_head(root):
        diffs = parse_diff(git(root, "diff", "HEAD", "-U0", "--no-color", "--no-ext-diff", "--", *paths))
        tracked = set(git(root, "ls-files", "--", *paths).splitlines())
    files = []
    for path in paths:
        full = root / path
        if not full.is_file():
            continue
        text = read_text(full)
        if text is None:
            continue
        if path in tracked:
            lines, added = diffs.get(path, (set(), False))
            if lines:
                files.append(ChangedFile(path, text, lines, added))
        else:
            files.append(ChangedFile(path, text, set(range(1, text.count("\n") + 2)), True))
    return files


def all_files(root: Path, paths: list[str]) -> list[ChangedFile]:
    """Every line of every listed file."""
    files = []
    for path in paths:
        text = read_text(root / path)
        if text is not None:
            files.append(ChangedFile(path, text, set(range(1, text.count("\n") + 2)), True))
    return files


def read_text(path: Path) -> str | None:
    """A file's text, or None for a binary or unreadable file."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if b"\0" in raw[:8192]:
        return None
    return raw.decode("utf-8", errors="replace")

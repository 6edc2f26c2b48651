"""Which files of a working tree get indexed, and reading them safely.

Git working trees list tracked plus untracked-not-ignored files (so `.gitignore` is
respected); plain folders are walked. `.copilotignore` (gitignore syntax) and the
configured vendored patterns apply to both. Binary, huge and minified files are skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .config import IndexConfig
from .repo import RepoInfo

log = logging.getLogger(__name__)

IGNORE_FILE = ".copilotignore"
_WALK_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"}


@dataclass(frozen=True)
class FileEntry:
    """A candidate file: its repository-relative POSIX path and what `stat` said of it."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    """The candidate files and the paths skipped with a reason."""

    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class Scanner:
    """Lists the files of a repository that should be indexed."""

    def __init__(self, repo: RepoInfo, config: IndexConfig) -> None:
        self.repo = repo
        self.config = config
        self._vendored = pathspec.GitIgnoreSpec.from_lines(config.vendored)
        ignore_path = repo.root / IGNORE_FILE
        lines = ignore_path.read_text(encoding="utf-8", errors="replace").splitlines() if ignore_path.is_file() else []
        self._ignored = pathspec.GitIgnoreSpec.from_lines(lines)

    def scan(self) -> ScanResult:
        """Stat every candidate file; unreadable, oversized and excluded paths go to `skipped`."""
        result = ScanResult()
        paths = self._git_paths(result) if self.repo.is_git else self._walk_paths()
        for rel in sorted(set(paths)):
            reason = self._excluded(rel)
            if reason:
                result.skipped.append((rel, reason))
                continue
            entry = self._stat(rel, result)
            if entry is not None:
                result.files.append(entry)
        return result

    def _excluded(self, rel: str) -> str | None:
        if self._ignored.match_file(rel):
            return "listed in .copilotignore"
        if self._vendored.match_file(rel):
            return "vendored or generated path"
        return None

    def _stat(self, rel: str, result: ScanResult) -> FileEntry | None:
        full = self.repo.root / rel
        try:
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(self.repo.root):
                    result.skipped.append((rel, "symlink pointing outside the repository"))
                    log.info("skipping %s: symlink pointing outside the repository", rel)
                else:
                    result.skipped.append((rel, "symlink (its target is indexed itself)"))
                return None
            st = full.stat()
        except OSError:
            return None  # deleted since it was listed: nothing to index
        if not full.is_file():
            return None
        if st.st_size > self.config.max_file_bytes:
            result.skipped.append((rel, f"larger than {self.config.max_file_bytes} bytes"))
            return None
        return FileEntry(rel, st.st_size, st.st_mtime_ns)

    def _git_paths(self, result: ScanResult) -> list[str]:
        repo = self.repo.open_git()
        paths: list[str] = []
        try:
            staged = repo.git.ls_files("-z", "--stage")
        except Exception as exc:  # a repository git cannot read
            log.warning("git ls-files failed: %s", exc)
            staged = ""
        submodules = set()
        for record in filter(None, staged.split("\0")):
            meta, _, rel = record.partition("\t")
            if meta.startswith("160000"):
                submodules.add(rel)
                result.skipped.append((rel, "git submodule"))
                log.info("skipping submodule %s", rel)
        listed = repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard")
        for rel in filter(None, listed.split("\0")):
            if rel in submodules:
                continue
            if rel.endswith("/"):
                result.skipped.append((rel.rstrip("/"), "nested git repository"))
                continue
            paths.append(rel)
        return paths

    def _walk_paths(self) -> Iterator[str]:
        root = self.repo.root
        gitignore = root / ".gitignore"
        spec = pathspec.GitIgnoreSpec.from_lines(
            gitignore.read_text(encoding="utf-8", errors="replace").splitlines() if gitignore.is_file() else []
        )
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            prefix = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(
                d for d in dirnames if d not in _WALK_SKIP_DIRS and not spec.match_file(prefix + d + "/")
            )
            for name in filenames:
                rel = prefix + name
                if not spec.match_file(rel):
                    yield rel


def read_source(full: Path, config: IndexConfig) -> tuple[bytes, str] | str:
    """Read a file as (raw bytes, text); return a skip reason string instead when it is not source.

    Invalid UTF-8 is decoded with replacement characters. Raises OSError when the file vanished.
    """
    raw = full.read_bytes()
    if len(raw) > config.max_file_bytes:
        return f"larger than {config.max_file_bytes} bytes"
    if b"\0" in raw[:8192]:
        return "binary file"
    text = raw.decode("utf-8", errors="replace")
    reason = minified_reason(text, config)
    return reason if reason else (raw, text)


def minified_reason(text: str, config: IndexConfig) -> str | None:
    """Why `text` looks minified, generated or like data rather than source, or None."""
    if not text.strip():
        return None
    lines = text.splitlines()
    longest = max(len(line) for line in lines)
    long_chars = sum(len(line) for line in lines if len(line) > config.max_line_length)
    # Prose (Markdown paragraphs) has a few long lines; minified code is mostly long lines.
    if longest > config.max_line_length and long_chars * 2 > len(text):
        return f"minified or generated (a line of {longest} characters)"
    mean = sum(len(line) for line in lines) / len(lines)
    if mean > config.max_mean_line_length:
        return f"minified or generated (mean line of {mean:.0f} characters)"
    stripped = [c for c in text if not c.isspace()]
    alnum = sum(c.isalnum() for c in stripped) / max(1, len(stripped))
    if alnum < config.min_alnum_share:
        return f"looks like data, not source ({alnum:.0%} letters and digits)"
    return None

"""Which files of a working tree get indexed, and reading them safely.

Git working trees list tracked plus untracked-not-ignored files (so `.gitignore` is
respected); plain folders are walked. `.copilotignore` (gitignore syntax) and the
configured vendored patterns apply to both. Binary, huge and minified files are skipped, and so
are large data files (JSON, YAML, CSV, ...: vocabularies, fixtures, generated data), large source files that
are data literals or build output (bundles, compiled files naming a source map), unless a `!path` line in
`.copilotignore` brings them back. One unreadable or hostile path (a symlink loop,
a name that is not UTF-8) is skipped with its reason; it never stops the scan.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .config import IndexConfig
from .repo import RepoInfo

log = logging.getLogger(__name__)

IGNORE_FILE = ".copilotignore"
_BRING_BACK = f"add a `!path` line to {IGNORE_FILE} to index it"
DATA_EXTENSIONS = frozenset({".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".csv", ".tsv", ".xml", ".geojson",
                             ".lock", ".svg", ".map", ".pbtxt"})
"""Files with these extensions hold data: above `index.max_data_file_bytes` they are not indexed."""
DATA_LITERAL_SHARE = 0.9
"""A source file above `index.max_data_file_bytes` with at least this share of literal lines is data. Measured
(5 December): a generated 543 KB `doc-data-full.js` of video.js is at 1.00; no other file of twelve benchmark
repositories (Python, Go, JavaScript, tests included) above 32 KB reaches 0.65."""
_STRING = r"""(?:"[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*')"""
_LITERAL_LINE = re.compile(
    rf"^\s*(?:(?:{_STRING}|[\w$]+)\s*:\s*)?"  # an optional key
    rf"(?:{_STRING}|-?\d[\d.eE+-]*|true|false|null|None|True|False)?"  # an optional scalar
    r"\s*[\[\]{}(),;]*\s*$"  # brackets and separators
)
_BUNDLE_LOADER = re.compile(r"webpackBootstrap|__webpack_require__|MODULE_NOT_FOUND|__commonJS\(|parcelRequire")
"""A bundler's module loader (webpack, browserify's prelude, esbuild, parcel), which bundles open with."""
_SOURCE_MAP = re.compile(r"^\s*(?://|/\*)[#@] sourceMappingURL=", re.MULTILINE)
"""The comment with which compilers and bundlers end their output."""
BUNDLE_HEAD_CHARS = 4096
BUNDLE_TAIL_CHARS = 1024
_WALK_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"}


@dataclass(frozen=True)
class FileEntry:
    """A candidate file: its repository-relative POSIX path and what `stat` said of it."""

    path: str
    size: int
    mtime_ns: int
    data_allowed: bool = False
    """A `!pattern` line of `.copilotignore` names it: index it even if it reads like data or build output."""


@dataclass
class ScanResult:
    """The candidate files and the paths skipped with a reason."""

    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignore_digest: str = ""
    """A digest of the `.copilotignore` rules the scan applied: when it changes, a `!path` line may have come or
    gone, so large files whose content decides whether they are indexed are read again."""


class Scanner:
    """Lists the files of a repository that should be indexed."""

    def __init__(self, repo: RepoInfo, config: IndexConfig) -> None:
        self.repo = repo
        self.config = config
        self._vendored = pathspec.GitIgnoreSpec.from_lines(config.vendored)
        ignore_path = repo.root / IGNORE_FILE
        lines = ignore_path.read_text(encoding="utf-8", errors="replace").splitlines() if ignore_path.is_file() else []
        self._ignored = pathspec.GitIgnoreSpec.from_lines(lines)
        self._ignore_digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
        self._walk_skipped = ScanResult()
        """Where a plain-folder walk reports names it cannot use (the current scan's result)."""

    def scan(self) -> ScanResult:
        """Stat every candidate file; unreadable, oversized and excluded paths go to `skipped`."""
        result = ScanResult(ignore_digest=self._ignore_digest)
        self._walk_skipped = result
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

    def _brought_back(self, rel: str) -> bool:
        """A `!pattern` line of `.copilotignore` names this path: index it even if it looks like data."""
        return self._ignored.check_file(rel).include is False

    def _stat(self, rel: str, result: ScanResult) -> FileEntry | None:
        full = self.repo.root / rel
        try:
            if full.is_symlink():
                try:
                    target = full.resolve(strict=True)
                except (OSError, RuntimeError):  # a loop, or a target that does not exist
                    result.skipped.append((rel, "symlink that loops or points nowhere"))
                    return None
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
        suffix = Path(rel).suffix.lower()
        large = st.st_size > self.config.max_data_file_bytes
        brought_back = large and self._brought_back(rel)
        if suffix in DATA_EXTENSIONS and large and not brought_back:
            result.skipped.append((rel, f"data file ({suffix[1:].upper()}, {st.st_size} bytes; "
                                        f"add `!{rel}` to {IGNORE_FILE} to index it)"))
            return None
        return FileEntry(rel, st.st_size, st.st_mtime_ns, data_allowed=brought_back)

    def _git_paths(self, result: ScanResult) -> list[str]:
        repo = self.repo.open_git()
        paths: list[str] = []
        try:
            staged = repo.git.ls_files("-z", "--stage", stdout_as_string=False)
        except Exception as exc:  # a repository git cannot read
            log.warning("git ls-files failed: %s", exc)
            staged = b""
        submodules = set()
        for record in filter(None, staged.split(b"\0")):
            meta, _, raw = record.partition(b"\t")
            if meta.startswith(b"160000"):
                rel = raw.decode("utf-8", "backslashreplace")
                submodules.add(rel)
                result.skipped.append((rel, "git submodule"))
                log.info("skipping submodule %s", rel)
        listed = repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard", stdout_as_string=False)
        for raw in filter(None, listed.split(b"\0")):
            rel = _utf8_name(raw, result)
            if rel is None or rel in submodules:
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
                rel = _utf8_name(os.fsencode(prefix + name), self._walk_skipped)
                if rel is not None and not spec.match_file(rel):
                    yield rel


def _utf8_name(raw: bytes, result: ScanResult) -> str | None:
    """A path as text, or None (skipped with its reason) when its name is not valid UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        result.skipped.append((raw.decode("utf-8", "backslashreplace"), "file name is not valid UTF-8"))
        return None


def read_source(
    full: Path, config: IndexConfig, data_allowed: bool = False, prose: bool = False
) -> tuple[bytes, str] | str:
    """Read a file as (raw bytes, text); return a skip reason string instead when it is not source
    (`data_allowed`: the user brought the file back, so a data literal written as code is indexed; `prose`: the
    file is Markdown or reStructuredText, whose long lines are paragraphs).

    Invalid UTF-8 is decoded with replacement characters. Raises OSError when the file vanished.
    """
    raw = full.read_bytes()
    if len(raw) > config.max_file_bytes:
        return f"larger than {config.max_file_bytes} bytes"
    if b"\0" in raw[:8192]:
        return "binary file"
    text = raw.decode("utf-8", errors="replace")
    reason = minified_reason(text, config, prose)
    if not reason and not data_allowed:
        reason = data_literal_reason(text, config) or bundle_reason(text, config)
    return reason if reason else (raw, text)


def bundle_reason(text: str, config: IndexConfig) -> str | None:
    """Why a large source file is build output (it opens with a bundler's module loader or ends by naming its
    source map), or None: a bundle repeats the repository's own modules and the libraries it packs."""
    if len(text) <= config.max_data_file_bytes:
        return None
    if _BUNDLE_LOADER.search(text, 0, BUNDLE_HEAD_CHARS):
        sign = "opens with a bundler's module loader"
    elif _SOURCE_MAP.search(text, max(0, len(text) - BUNDLE_TAIL_CHARS)):
        sign = "ends by naming its source map"
    else:
        return None
    return f"build output ({sign}; {_BRING_BACK})"


def data_literal_reason(text: str, config: IndexConfig) -> str | None:
    """Why a large source file is data rather than code (a generated table or JSON dump assigned to a variable:
    nearly every line a bare literal, a `"key": value` entry or a bracket), or None."""
    if len(text) <= config.max_data_file_bytes:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    share = sum(bool(_LITERAL_LINE.match(line)) for line in lines) / max(1, len(lines))
    if share < DATA_LITERAL_SHARE:
        return None
    return f"data written as code ({share:.0%} of its lines are literals; {_BRING_BACK})"


def minified_reason(text: str, config: IndexConfig, prose: bool = False) -> str | None:
    """Why `text` looks minified, generated or like data rather than source, or None (`prose`: Markdown or
    reStructuredText, where a paragraph is often one line: only far longer lines count)."""
    if not text.strip():
        return None
    lines = text.splitlines()
    limit = config.max_prose_line_length if prose else config.max_line_length
    longest = max(len(line) for line in lines)
    long_chars = sum(len(line) for line in lines if len(line) > limit)
    # A few long lines are ordinary (a long string, a table row); minified code is mostly long lines.
    if longest > limit and long_chars * 2 > len(text):
        return f"minified or generated (a line of {longest} characters)"
    mean = sum(len(line) for line in lines) / len(lines)
    if not prose and mean > config.max_mean_line_length:
        return f"minified or generated (mean line of {mean:.0f} characters)"
    stripped = [c for c in text if not c.isspace()]
    alnum = sum(c.isalnum() for c in stripped) / max(1, len(stripped))
    if alnum < config.min_alnum_share:
        return f"looks like data, not source ({alnum:.0%} letters and digits)"
    return None

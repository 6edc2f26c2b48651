"""Conventions learned from the repository itself: naming styles per language and symbol kind, licence headers.

A style is a convention when at least `min_share` of at least `min_samples` symbols follow it;
a licence header is one when that share of source files carries it. Mining reads the tracked
files once per HEAD commit and caches the statistics in `<data-dir>/conventions.json`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from copilot_index.indexer import header_license, is_code, language_for_path

from .changes import git, has_head, read_text
from .symbols import STYLES, styles_of, symbols

log = logging.getLogger(__name__)

CACHE_VERSION = 1
MAX_FILES = 5000
"""Files read when mining (a sample of larger repositories)."""


@dataclass
class NamingStats:
    language: str
    kind: str
    samples: int
    counts: dict[str, int]
    """style -> how many names are consistent with it."""

    def convention(self, min_share: float, min_samples: int) -> tuple[str, float] | None:
        """The style nearly every name follows, with its share, or None."""
        if self.samples < min_samples or not self.counts:
            return None
        style, n = max(self.counts.items(), key=lambda item: (item[1], item[0] == "snake_case"))
        share = n / self.samples
        return (style, share) if share >= min_share else None


@dataclass
class LearnedConventions:
    commit: str | None = None
    naming: list[NamingStats] = field(default_factory=list)
    header_counts: dict[str, int] = field(default_factory=dict)
    """SPDX id (or "" for none) -> source files whose header declares it."""
    source_files: int = 0

    def naming_for(self, language: str, kind: str) -> NamingStats | None:
        return next((n for n in self.naming if n.language == language and n.kind == kind), None)

    def header_convention(self, min_share: float, min_samples: int) -> tuple[str, float, int] | None:
        """The licence nearly every source file's header declares: (SPDX id, share, files)."""
        if self.source_files < min(min_samples, 10):
            return None
        spdx, n = max(self.header_counts.items(), key=lambda item: item[1], default=("", 0))
        share = n / self.source_files
        return (spdx, share, self.source_files) if spdx and share >= min_share else None


def mine(root: Path, paths: list[str], commit: str | None = None) -> LearnedConventions:
    """Statistics of naming styles and licence headers over these files."""
    styles: dict[tuple[str, str], Counter[str]] = {}
    samples: Counter[tuple[str, str]] = Counter()
    learned = LearnedConventions(commit=commit)
    headers: Counter[str] = Counter()
    for path in paths[:MAX_FILES]:
        language = language_for_path(path)
        if not is_code(language):
            continue
        text = read_text(root / path)
        if text is None:
            continue
        learned.source_files += 1
        headers[header_license(text) or ""] += 1
        for symbol in symbols(text, language):
            fits = styles_of(symbol.name)
            if fits is None:
                continue
            key = (language, symbol.kind)
            samples[key] += 1
            styles.setdefault(key, Counter()).update(fits)
    for (language, kind), n in sorted(samples.items()):
        counts = {style: styles[(language, kind)][style] for style in STYLES if styles[(language, kind)][style]}
        learned.naming.append(NamingStats(language, kind, n, counts))
    learned.header_counts = dict(headers)
    return learned


def load_or_mine(root: Path, cache: Path | None, is_git: bool) -> LearnedConventions:
    """Cached statistics for HEAD (in `cache`, `DataDir.learned_conventions`), mining the tracked files when the
    cache is missing or stale."""
    commit = git(root, "rev-parse", "HEAD").strip() if is_git and has_head(root) else None
    if cache is not None and commit is not None and cache.is_file():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and data.get("commit") == commit:
                return LearnedConventions(
                    commit, [NamingStats(**n) for n in data["naming"]], data["header_counts"], data["source_files"]
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("ignoring the unreadable conventions cache %s: %s", cache, exc)
    if is_git and commit is not None:
        paths = git(root, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    else:
        paths = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts]
    learned = mine(root, paths, commit)
    if cache is not None and commit is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"version": CACHE_VERSION, **asdict(learned)}), encoding="utf-8")
        except OSError as exc:
            log.info("could not cache learned conventions in %s: %s", cache, exc)
    return learned


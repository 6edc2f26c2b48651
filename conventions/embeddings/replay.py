"""`train-embeddings --replay N`: general (doc sentence -> code) pairs mixed into a repository's own.

A repository's own pairs are mostly identifier words -> body; trained on them alone for longer, the embedder
scores its held-out pairs much better while docstring-like queries gain little or lose (README, "What it adds").
Replay keeps the older skill in the batches: doc pairs from the running interpreter's standard library, which
the shipped embedder was trained on (its model card), mined with the same `PairMiner` as the repository.

Only a few packages are read, so that mining costs seconds; the pairs join the training side only, never the
held-out pairs that decide the promotion.
"""

from __future__ import annotations

import random
from pathlib import Path

from copilot_index.indexer import IndexConfig, RepoInfo

from .corpus_sources import cpython_stdlib
from .pairs import MiningOptions, Pair, PairMiner, is_test_path

PACKAGES = ("asyncio", "email", "http", "urllib", "logging", "json", "concurrent", "importlib", "xml", "unittest")
"""Standard-library packages read for replay pairs (several hundred documented definitions between them)."""


def replay_pairs(count: int, seed: int = 0, stdlib: Path | None = None) -> list[Pair]:
    """At most `count` doc pairs from the standard library, a seeded sample, sources marked ``replay``."""
    if count <= 0:
        return []
    root = stdlib or cpython_stdlib().root
    found: list[Pair] = []
    for package in PACKAGES:
        folder = root / package
        if not folder.is_dir():
            continue
        mined = PairMiner(RepoInfo(folder.resolve(), None), IndexConfig(), MiningOptions(max_commits=0)).mine()
        found += [Pair(p.query, p.positive, f"{package}/{p.path}", "replay")
                  for p in mined if p.source == "doc" and not is_test_path(p.path)]
    random.Random(seed).shuffle(found)
    return found[:count]

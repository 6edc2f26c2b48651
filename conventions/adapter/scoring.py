"""Exact match and edit similarity of completions on held-out samples."""

from __future__ import annotations

import difflib
import statistics
import time
from collections.abc import Callable, Sequence

from .samples import Sample


def edit_similarity(a: str, b: str) -> float:
    """1.0 for identical strings, down to 0.0 (difflib's ratio of matching characters)."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def normalise(text: str) -> str:
    return " ".join(text.split())


def score_samples(samples: Sequence[Sample], complete: Callable[[Sample], str]) -> dict[str, float]:
    """Run `complete` on every sample; exact match compares whitespace-normalised text."""
    exact, similarity, latencies = 0, [], []
    for sample in samples:
        started = time.perf_counter()
        got = complete(sample)
        latencies.append((time.perf_counter() - started) * 1000)
        want = sample.middle if sample.kind == "span" else sample.middle.split("\n", 1)[0]
        exact += normalise(got) == normalise(want)
        similarity.append(edit_similarity(normalise(got), normalise(want)))
    n = max(1, len(samples))
    ordered = sorted(latencies) or [0.0]
    return {
        "samples": float(len(samples)),
        "exact_match": exact / n,
        "edit_similarity": statistics.fmean(similarity) if similarity else 0.0,
        "latency_p50_ms": ordered[len(ordered) // 2],
        "latency_p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }

"""Exact match and edit similarity of completions on held-out samples."""

from __future__ import annotations

import difflib
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from .samples import Sample


def edit_similarity(a: str, b: str) -> float:
    """1.0 for identical strings, down to 0.0 (difflib's ratio of matching characters)."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def normalise(text: str) -> str:
    return " ".join(text.split())


def score_samples(
    samples: Sequence[Sample], complete: Callable[[Sample], str], *, outcomes: bool = False
) -> dict[str, Any]:
    """Run `complete` on every sample; exact match compares whitespace-normalised text.
    `by_kind` gives exact match and edit similarity of line and span samples apart. With `outcomes`,
    `exact` holds each sample's outcome, in order, for paired comparisons (`paired_comparison`)."""
    exact, similarity, latencies = [], [], []
    for sample in samples:
        started = time.perf_counter()
        got = complete(sample)
        latencies.append((time.perf_counter() - started) * 1000)
        want = sample.middle if sample.kind == "span" else sample.middle.split("\n", 1)[0]
        exact.append(normalise(got) == normalise(want))
        similarity.append(edit_similarity(normalise(got), normalise(want)))
    ordered = sorted(latencies) or [0.0]
    by_kind = {}
    for kind in sorted({s.kind for s in samples}):
        picked = [i for i, s in enumerate(samples) if s.kind == kind]
        by_kind[kind] = {"samples": len(picked), "exact_match": sum(exact[i] for i in picked) / len(picked),
                         "edit_similarity": statistics.fmean(similarity[i] for i in picked)}
    metrics: dict[str, Any] = {
        "samples": float(len(samples)),
        "exact_match": sum(exact) / max(1, len(samples)),
        "edit_similarity": statistics.fmean(similarity) if similarity else 0.0,
        "latency_p50_ms": ordered[len(ordered) // 2],
        "latency_p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "by_kind": by_kind,
    }
    if outcomes:
        metrics["exact"] = exact
    return metrics


def paired_comparison(baseline: Sequence[bool], candidate: Sequence[bool]) -> dict[str, Any]:
    """How a configuration compares with the baseline on the same samples: samples only it got
    right (`wins`), samples only the baseline got right (`losses`), and the two-sided p-value of an
    exact sign test (McNemar's) on those discordant pairs. A p-value under 0.05 is a clear margin:
    a gain that large would rarely come from which samples happened to be drawn."""
    if len(baseline) != len(candidate):
        raise ValueError("paired comparison needs results on the same samples")
    wins = sum(c and not b for b, c in zip(baseline, candidate, strict=True))
    losses = sum(b and not c for b, c in zip(baseline, candidate, strict=True))
    n, k = wins + losses, min(wins, losses)
    p_value = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"wins": wins, "losses": losses, "p_value": p_value, "clear": wins > losses and p_value < 0.05}


def p_text(p_value: float, digits: int = 3) -> str:
    """A p-value for people: "p = 0.625", or "p < 0.001" where rounding would print zero."""
    floor = 10.0**-digits
    return f"p < {floor:.{digits}f}" if p_value < floor else f"p = {p_value:.{digits}f}"

"""Exact match and edit similarity of completions on held-out samples."""

from __future__ import annotations

import difflib
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .samples import Sample


def edit_similarity(a: str, b: str) -> float:
    """1.0 for identical strings, down to 0.0 (difflib's ratio of matching characters)."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def normalise(text: str) -> str:
    return " ".join(text.split())


WITHHOLDING_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
"""`completion.min_confidence` values whose effect `copilot-index eval` reports."""


@dataclass(frozen=True)
class Outcome:
    """How one completion of a sample compares with what the file holds."""

    exact: bool
    similarity: float
    latency_ms: float
    confidence: float | None = None
    """The model's confidence in what it wrote, when the completion says."""
    shown: bool = True
    """It wrote something (an empty completion is nothing to show, or to withhold)."""


Answer = str | tuple[str, float | None]
"""What a completion function gives back: the text, or (the text, the model's confidence in it)."""


def run_samples(
    samples: Sequence[Sample], complete: Callable[[Sample], Answer], *, deadline: float | None = None
) -> list[Outcome]:
    """Run `complete` on the samples in order, until all are done or the next one would end past `deadline`
    (`time.monotonic()`, reckoning it takes as long as the last); exact match compares whitespace-normalised text."""
    outcomes: list[Outcome] = []
    last = 0.0
    for sample in samples:
        if deadline is not None and time.monotonic() + last >= deadline:
            break
        started = time.perf_counter()
        answer = complete(sample)
        last = time.perf_counter() - started
        got, confidence = answer if isinstance(answer, tuple) else (answer, None)
        want = sample.middle if sample.kind == "span" else sample.middle.split("\n", 1)[0]
        outcomes.append(Outcome(normalise(got) == normalise(want), edit_similarity(normalise(got), normalise(want)),
                                last * 1000, confidence, bool(got.strip())))
    return outcomes


def summarize(samples: Sequence[Sample], outcomes: Sequence[Outcome], *, with_outcomes: bool = False) -> dict[str, Any]:
    """Exact match, edit similarity and latency over the first `len(outcomes)` samples.
    `by_kind` gives exact match and edit similarity of line and span samples apart. With `with_outcomes`,
    `exact` holds each sample's outcome, in order, for paired comparisons (`paired_comparison`)."""
    samples = samples[: len(outcomes)]
    exact = [o.exact for o in outcomes]
    similarity = [o.similarity for o in outcomes]
    ordered = sorted(o.latency_ms for o in outcomes) or [0.0]
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
    if with_outcomes:
        metrics["exact"] = exact
    return metrics


def score_samples(
    samples: Sequence[Sample], complete: Callable[[Sample], Answer], *, outcomes: bool = False
) -> dict[str, Any]:
    """Run `complete` on every sample and summarize (`summarize`); with `outcomes`, keep each sample's. When the
    completions carry the model's confidence, `withholding` says what each `completion.min_confidence` would do."""
    done = run_samples(samples, complete)
    metrics = summarize(samples, done, with_outcomes=outcomes)
    if any(o.confidence is not None for o in done):
        metrics["withholding"] = withholding(done)
    return metrics


def withholding(outcomes: Sequence[Outcome], thresholds: Sequence[float] = WITHHOLDING_THRESHOLDS) -> list[dict[str, Any]]:
    """Per threshold: how many completions would still be shown, how many right ones among them, how many right
    ones would be lost, and the exact match among those shown (first, threshold 0: everything shown). A completion
    without a confidence is always shown, as the engine does."""
    written = [o for o in outcomes if o.shown]
    right = sum(o.exact for o in written)
    rows = []
    for threshold in (0.0, *thresholds):
        shown = [o for o in written if o.confidence is None or o.confidence >= threshold]
        kept = sum(o.exact for o in shown)
        rows.append({"min_confidence": threshold, "shown": len(shown), "right_shown": kept, "right_lost": right - kept,
                     "exact_among_shown": kept / len(shown) if shown else 0.0})
    return rows


def better(candidate: dict[str, Any], incumbent: dict[str, Any] | None) -> bool:
    """Whether `candidate` beats `incumbent` on the held-out next-line samples: no worse on exact match and on
    edit similarity, and better on one of them. A few more exact lines at a lower edit similarity are no gain:
    on SmolLM2 an adapter that had collapsed into writing blank lines won 3 exact lines of 24 against 1 while
    its edit similarity fell from 0.43 to 0.38, and the editor would have shown nothing in most places. Spans do
    not count: a model that fills random spans better but writes the next line worse is not what an editor
    wants. Without next-line figures on both sides nothing is better; with no incumbent (no active adapter)
    there is nothing to beat."""
    if incumbent is None:
        return True
    ours, theirs = _next_line(candidate), _next_line(incumbent)
    if ours is None or theirs is None:
        return False
    return ours != theirs and all(o >= t for o, t in zip(ours, theirs, strict=True))


def _next_line(metrics: dict[str, Any]) -> tuple[float, float] | None:
    line = metrics.get("by_kind", {}).get("line")
    if not line or not line.get("samples"):
        return None
    return round(line["exact_match"], 6), round(line["edit_similarity"], 6)


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

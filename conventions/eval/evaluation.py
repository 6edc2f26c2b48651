"""`copilot-index eval`: base vs +retrieval vs +adapter vs +both on the repository's held-out files.

The model and its prompts come from the engine through a `CompletionRuntime` (`adapter/rendering.py`), so each
configuration is scored on the prompts the engine would build.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from copilot_index.indexer import Index

from ..adapter.registry import AdapterRegistry
from ..adapter.rendering import CompletionRuntime
from ..adapter.samples import mine_samples, spread
from ..adapter.scoring import p_text, paired_comparison, score_samples

log = logging.getLogger(__name__)

CONFIGS = ("base", "+retrieval", "+adapter", "+both")


def evaluate_repository(
    index: Index,
    runtime: CompletionRuntime,
    *,
    max_samples: int = 120,
    seed: int = 0,
    target_samples: int = 2000,
    progress: Callable[[str, int, int], None] | None = None,
    adapter_version: str | None = None,
) -> dict[str, Any]:
    """Scores for the four configurations on the same held-out samples (the adapter's own split).
    The adapter is the active one, or version `adapter_version` (promoted or not). "base" is the model as served
    without one: with its default adapter (the shipped code LoRA of SmolLM2), which a repository's adapter replaces."""
    base = runtime.base
    repo = index.repo
    registry = AdapterRegistry(index.data_dir.adapters)
    active = registry.active() if adapter_version is None else registry.version(adapter_version)
    adapted = runtime.adapted(active.path) if active is not None else None
    default = runtime.default_adapter()  # the base as the editor serves it without an adapter of the repository's
    served = runtime.adapted(default) if default is not None else base.model
    renderer = runtime.renderer
    samples = spread(mine_samples(repo, seed=seed, target_samples=target_samples).held_out, max_samples)
    results: dict[str, Any] = {}
    plan = [("base", served, False), ("+retrieval", served, True),
            ("+adapter", adapted, False), ("+both", adapted, True)]
    for done, (name, model, retrieval) in enumerate(plan, 1):
        if model is None:
            results[name] = {"skipped": "no adapter is active; run `copilot-index train-adapter` first"}
        elif retrieval and not renderer.retrieves:
            results[name] = {"skipped": "no index; run `copilot-index index` first"}
        else:
            results[name] = score_samples(samples, partial(renderer.complete, model, retrieval=retrieval), outcomes=True)
        if progress is not None:
            progress("Evaluating", done, len(plan))
    compare_with_base(results)
    return {
        "repository": str(repo.root),
        "commit": repo.head_commit(),
        "model": base.source,
        "base_adapter": str(default) if default is not None else None,
        "adapter": None if active is None else {"version": active.version, "path": str(active.path)},
        "held_out_samples": len(samples),
        "configs": results,
        "answer": verdict(results),
        "withholding": withholding_text(results, "+both" if adapted is not None else "+retrieval"),
    }


def withholding_text(results: dict[str, Any], name: str, threshold: float = 0.5) -> str | None:
    """One sentence on what `completion.min_confidence = threshold` would do to configuration `name` (the one the
    editor runs: retrieval, and the adapter when there is one), or None without confidences."""
    rows = results.get(name, {}).get("withholding") or results.get("base", {}).get("withholding")
    if not rows:
        return None
    everything = rows[0]
    at = next((r for r in rows if r["min_confidence"] == threshold), None)
    if at is None or not everything["shown"]:
        return None
    return (f"With completion.min_confidence = {threshold:g}, {everything['shown'] - at['shown']} of "
            f"{everything['shown']} suggestions would be withheld and {at['right_lost']} of "
            f"{everything['right_shown']} right ones lost; exact match among those shown "
            f"{everything['exact_among_shown']:.1%} -> {at['exact_among_shown']:.1%} (`--json` has other thresholds).")


def compare_with_base(results: dict[str, Any]) -> None:
    """Give every configuration its paired comparison with the base on the same samples
    (`vs_base`), then drop the per-sample outcomes."""
    base = results.get("base", {}).get("exact")
    for name, result in results.items():
        outcomes = result.pop("exact", None)
        if name != "base" and base is not None and outcomes is not None:
            result["vs_base"] = paired_comparison(base, outcomes)


def verdict(results: dict[str, Any]) -> str:
    """One sentence on what helps this repository most, from the exact-match figures, and whether
    the gain is a clear margin (a paired sign test, p < 0.05) or could be the luck of the draw."""
    scores = {k: v["exact_match"] for k, v in results.items() if "exact_match" in v}
    if not scores or "base" not in scores:
        return "Not enough configurations could be evaluated to compare."
    best = max(scores, key=lambda k: scores[k])
    if best == "base" or scores[best] <= scores["base"]:
        return "Neither retrieval nor the adapter beats the base model here on exact match."
    gain = scores[best] - scores["base"]
    sentence = f"{best} helps most: exact match {scores['base']:.1%} -> {scores[best]:.1%} (+{gain:.1%} points)"
    paired = results[best].get("vs_base")
    if paired is None:
        return sentence + "."
    wins, losses, p = paired["wins"], paired["losses"], paired["p_value"]
    if paired["clear"]:
        return f"{sentence}, a clear margin ({wins} samples won, {losses} lost, {p_text(p)})."
    return f"{sentence}, but not a clear margin ({wins} samples won, {losses} lost, {p_text(p, 2)}): evaluate more samples."

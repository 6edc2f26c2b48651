"""List the repository's trained embedders and switch between them, or back to the configured base.

Switching re-embeds the index with the chosen embedder (atomically: searches keep working on the old
vectors until the new ones are complete) and then records the choice in `embedders/active.json`.
Going back to the base removes the record, so the configured `index.embedder` applies again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from copilot_index.indexer import CopilotIndexError, Index, clear_active, embedder_for, write_active

from .registry import EmbedderRegistry

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
BASE = "base"
"""The name that selects the configured embedder (`index.embedder`)."""


class UnknownEmbedderError(CopilotIndexError):
    """The requested embedder version does not exist or kept no weights."""


@dataclass
class SwitchSummary:
    previous: str
    active: str
    version: str
    """The version now active, or "base"."""
    reembedded_chunks: int | None
    """Chunks re-embedded (None when there is no index yet, or nothing changed)."""

    def as_json(self) -> dict[str, Any]:
        return {"previous": self.previous, "active": self.active, "version": self.version,
                "reembedded_chunks": self.reembedded_chunks}


def list_embedders(index: Index) -> list[dict[str, Any]]:
    """The base embedder and every trained version, with scores and which one is active."""
    config = index.config
    registry = EmbedderRegistry(index.data_dir.embedders)
    active = index.embedder_id()
    rows: list[dict[str, Any]] = [{"version": BASE, "embedder": config.embedder, "promoted": None,
                                   "usable": True, "active": active == config.embedder, "base_mrr@10": None,
                                   "trained_mrr@10": None, "dense_weight": None, "created_at": None}]
    for version in registry.versions():
        lineage = registry.load(version)
        model = registry.model_dir(version)
        rows.append({
            "version": version,
            "embedder": str(model),
            "promoted": lineage.promoted,
            "usable": model.is_dir() and registry.root_embedder(version) == config.embedder,
            "active": active == str(model),
            "base_mrr@10": _rounded(lineage.metrics.get("base_mrr@10")),
            "trained_mrr@10": _rounded(lineage.metrics.get("trained_mrr@10")),
            "dense_weight": lineage.extra.get("dense_weight"),
            "created_at": lineage.created_at,
        })
    return rows


def use_embedder(
    index: Index,
    target: str,
    progress: ProgressCallback | None = None,
    lock_wait_seconds: float = 0.0,
) -> SwitchSummary:
    """Make `target` ("base" or a version such as "v002") the embedder of `index`."""
    config = index.config
    previous = index.embedder_id()
    model_id = config.embedder if target == BASE else _trained_model(index, target)
    reembedded = None
    if model_id != previous and index.exists:
        embedder = embedder_for(model_id, config)  # the backend searches and updates use
        reembedded = index.swap_vectors(embedder, progress, lock_wait_seconds).chunks
    if target == BASE:
        clear_active(index.data_dir)
    else:
        weight = EmbedderRegistry(index.data_dir.embedders).load(target).extra.get("dense_weight")
        write_active(index.data_dir, model_id, config.embedder, target, weight)  # the weight chosen for it, if any
    log.info("the active embedder is now %s (was %s)", model_id, previous)
    return SwitchSummary(previous, model_id, target, reembedded)


def _trained_model(index: Index, version: str) -> str:
    config = index.config
    registry = EmbedderRegistry(index.data_dir.embedders)
    versions = registry.versions()
    usable = [v for v in versions if registry.model_dir(v).is_dir()]
    choices = ", ".join([BASE, *usable])
    if version not in versions:
        raise UnknownEmbedderError(f"There is no trained embedder {version!r}; choose one of: {choices}.")
    if version not in usable:
        raise UnknownEmbedderError(
            f"{version} was not promoted, so its weights were not kept; choose one of: {choices}.")
    if registry.root_embedder(version) != config.embedder:
        raise UnknownEmbedderError(
            f"{version} was trained from another embedder than the configured {config.embedder}; "
            "set index.embedder back to it first.")
    return str(registry.model_dir(version))


def _rounded(value: Any) -> float | None:
    return round(float(value), 4) if isinstance(value, int | float) else None

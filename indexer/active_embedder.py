"""Which embedder a repository's index uses: the configured one, or a trained one promoted over it.

`copilot-index train-embeddings` records a promoted embedder in `<data-dir>/embedders/active.json`
together with the configured embedder it was trained from. The record applies only while that
configured embedder is still the configured one, and only while the trained model's folder exists, so
changing `index.embedder` in `.copilot-index.toml` (or deleting the folder) falls back cleanly. The record may
also hold the fusion weight `train-embeddings` chose for the trained embedder (`active_dense_weight`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .datadir import DataDir

log = logging.getLogger(__name__)


def read_active(data_dir: DataDir) -> dict[str, Any] | None:
    """The active-embedder record, or None when there is none or it cannot be read."""
    path = data_dir.active_embedder
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s (%s)", path, exc)
        return None
    if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("embedder", "configured")):
        log.warning("ignoring malformed %s", path)
        return None
    return record


def active_embedder_id(data_dir: DataDir, configured: str) -> str:
    """The embedder id to index and search with: the promoted trained one if it applies, else `configured`."""
    record = read_active(data_dir)
    if record is None or record["configured"] != configured:
        return configured
    if not Path(record["embedder"]).is_dir():
        log.warning("the trained embedder %s is gone; using %s", record["embedder"], configured)
        return configured
    return record["embedder"]


def active_dense_weight(data_dir: DataDir, configured: str) -> float | None:
    """The fusion weight recorded with the promoted embedder (chosen by `train-embeddings`' doc probe), while that
    embedder is the active one; else None."""
    record = read_active(data_dir)
    weight = record.get("dense_weight") if record is not None else None
    if record is None or not isinstance(weight, int | float) or isinstance(weight, bool) or not 0.0 <= weight <= 1.0:
        return None
    return float(weight) if active_embedder_id(data_dir, configured) == record["embedder"] else None


def write_active(data_dir: DataDir, embedder: str, configured: str, version: str,
                 dense_weight: float | None = None) -> None:
    """Make `embedder` (trained from `configured`) the active one, searched with `dense_weight` unless the settings
    give one; the file is replaced atomically."""
    path = data_dir.active_embedder
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    record: dict[str, object] = {"embedder": embedder, "configured": configured, "version": version}
    if dense_weight is not None:
        record["dense_weight"] = dense_weight
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)


def clear_active(data_dir: DataDir) -> None:
    """Go back to the configured embedder: forget the promoted one (its folder is kept)."""
    data_dir.active_embedder.unlink(missing_ok=True)

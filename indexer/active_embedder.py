"""Which embedder a repository's index uses: the configured one, or a trained one promoted over it.

`copilot-index train-embeddings` records a promoted embedder in `<data-dir>/embedders/active.json`
together with the configured embedder it was trained from. The record applies only while that
configured embedder is still the configured one, and only while the trained model's folder exists, so
changing `index.embedder` in `.copilot-index.toml` (or deleting the folder) falls back cleanly.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .datadir import DataDir

log = logging.getLogger(__name__)


def read_active(data_dir: DataDir) -> dict[str, str] | None:
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


def write_active(data_dir: DataDir, embedder: str, configured: str, version: str) -> None:
    """Make `embedder` (trained from `configured`) the active one; the file is replaced atomically."""
    path = data_dir.active_embedder
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"embedder": embedder, "configured": configured, "version": version}, indent=2) + "\n")
    os.replace(tmp, path)


def clear_active(data_dir: DataDir) -> None:
    """Go back to the configured embedder: forget the promoted one (its folder is kept)."""
    data_dir.active_embedder.unlink(missing_ok=True)

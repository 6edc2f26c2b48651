"""Trained embedders, versioned under `<data-dir>/embedders/vNNN/`, each with a lineage manifest.

A version folder holds `manifest.json` (what it was trained from, on what, how, and how it scored) and,
for a promoted embedder only, the sentence-transformers model in `model/`. A refused model keeps its
manifest as a record of the attempt, but not its weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from copilot_index.indexer.active_embedder import EMBEDDERS_DIR

MANIFEST = "manifest.json"
MODEL_DIR = "model"
_VERSION = re.compile(r"^v(\d+)$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx")


@dataclass
class Lineage:
    """Where a trained embedder came from and how it scored; written as `manifest.json`."""

    version: str
    base_embedder: str
    """The embedder id it was fine-tuned from (configured id or a trained embedder's folder)."""
    base_weights_sha256: str
    commit: str | None
    """The repository's HEAD when the pairs were mined."""
    data_sha256: str
    """Hash of every training and held-out pair."""
    pairs: dict[str, Any]
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    promoted: bool
    created_at: str
    train_steps: int = 0
    train_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class EmbedderRegistry:
    """The `embedders/` folder of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / EMBEDDERS_DIR

    def new_version(self) -> tuple[str, Path]:
        """Reserve the next version folder (v001, v002, ...); safe against a concurrent run."""
        self.root.mkdir(parents=True, exist_ok=True)
        number = max((int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION.match(p.name))), default=0)
        while True:
            number += 1
            folder = self.root / f"v{number:03d}"
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder.name, folder

    def model_dir(self, version: str) -> Path:
        return self.root / version / MODEL_DIR

    def save(self, lineage: Lineage, model: Any | None = None) -> Path:
        """Write the manifest (and the model, when given); returns the version folder."""
        folder = self.root / lineage.version
        folder.mkdir(parents=True, exist_ok=True)
        if model is not None:
            model.save(str(folder / MODEL_DIR))
        tmp = folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(asdict(lineage), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, folder / MANIFEST)
        return folder

    def load(self, version: str) -> Lineage:
        data = json.loads((self.root / version / MANIFEST).read_text(encoding="utf-8"))
        return Lineage(**data)

    def root_embedder(self, version: str) -> str:
        """The configured embedder a version descends from, following trained-from-trained chains."""
        seen: set[str] = set()
        base = self.load(version).base_embedder
        while (parent := self._version_of(base)) is not None and parent not in seen:
            seen.add(parent)
            base = self.load(parent).base_embedder
        return base

    def _version_of(self, model_id: str) -> str | None:
        """The version whose model folder is `model_id`, if it is one of this registry's."""
        path = Path(model_id)
        inside = path.parent.parent.resolve() == self.root.resolve()
        if path.name != MODEL_DIR or not inside or not _VERSION.match(path.parent.name):
            return None
        return path.parent.name if (path.parent / MANIFEST).is_file() else None

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if _VERSION.match(p.name) and (p / MANIFEST).is_file()]
        return sorted(found, key=lambda name: int(name[1:]))


def weights_sha256(model_path: str) -> str:
    """sha256 over a model folder's weight files (names and bytes), or over the id for a hub model."""
    folder = Path(model_path)
    digest = hashlib.sha256()
    if not folder.is_dir():
        digest.update(model_path.encode())
        return digest.hexdigest()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES)):
        if "onnx" in path.relative_to(folder).parts[:-1]:
            continue
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()

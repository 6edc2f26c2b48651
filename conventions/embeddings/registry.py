"""Trained embedders, versioned under `DataDir.embedders/vNNN/`, each with a lineage manifest.

A version folder holds `manifest.json` (what it was trained from, on what, how, and how it scored) and,
for a promoted embedder only, the sentence-transformers model in `model/`. A refused model keeps its
manifest as a record of the attempt, but not its weights.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..registry import MANIFEST, Registry, parse_version, version_name, write_json_atomic

MODEL_DIR = "model"


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
    """The trained embedders of one data directory (`DataDir.embedders`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._versions = Registry(root)

    def new_version(self) -> tuple[str, Path]:
        """Reserve the next version folder (v001, v002, ...); safe against a concurrent run."""
        number, folder = self._versions.reserve()
        return version_name(number), folder

    def model_dir(self, version: str) -> Path:
        return self.root / version / MODEL_DIR

    def save(self, lineage: Lineage, model: Any | None = None) -> Path:
        """Write the manifest (and the model, when given); returns the version folder."""
        folder = self.root / lineage.version
        folder.mkdir(parents=True, exist_ok=True)
        if model is not None:
            model.save(str(folder / MODEL_DIR))
        write_json_atomic(folder / MANIFEST, asdict(lineage))
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
        if path.name != MODEL_DIR or not inside or parse_version(path.parent.name) is None:
            return None
        return path.parent.name if (path.parent / MANIFEST).is_file() else None

    def versions(self) -> list[str]:
        return [self._versions.folder(n).name for n in self._versions.numbers()]

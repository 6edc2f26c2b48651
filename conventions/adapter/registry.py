"""Versioned adapters in the data directory, each with a lineage manifest, and the active one."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot_index.indexer.errors import CopilotIndexError


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_digest(model_dir: str) -> str:
    """SHA-256 of a local model's weights (or of its id for a hub model)."""
    folder = Path(model_dir)
    weights = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    if not weights:
        return hashlib.sha256(model_dir.encode()).hexdigest()
    digest = hashlib.sha256()
    for w in weights:
        digest.update(file_digest(w).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class AdapterVersion:
    version: int
    path: Path
    manifest: dict[str, Any]


class AdapterRegistry:
    """`<data-dir>/adapters/v<N>/` (PEFT files + manifest.json) and `adapters/active.json`."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "adapters"

    def versions(self) -> list[AdapterVersion]:
        found = []
        for folder in sorted(self.root.glob("v*")) if self.root.is_dir() else []:
            manifest = folder / "manifest.json"
            if folder.name[1:].isdigit() and manifest.is_file():
                found.append(AdapterVersion(int(folder.name[1:]), folder, json.loads(manifest.read_text())))
        return sorted(found, key=lambda v: v.version)

    def next_path(self) -> tuple[int, Path]:
        version = max((v.version for v in self.versions()), default=0) + 1
        return version, self.root / f"v{version}"

    def active(self) -> AdapterVersion | None:
        pointer = self.root / "active.json"
        if not pointer.is_file():
            return None
        version = int(json.loads(pointer.read_text())["version"])
        return next((v for v in self.versions() if v.version == version), None)

    def version(self, version: int) -> AdapterVersion:
        """Adapter `version`, promoted or not; a clear error when there is none."""
        for candidate in self.versions():
            if candidate.version == version:
                return candidate
        known = ", ".join(f"v{v.version}" for v in self.versions()) or "none yet"
        raise CopilotIndexError(
            f"There is no adapter v{version} (trained: {known}); run `copilot-index train-adapter` first."
        )

    def write_manifest(self, path: Path, manifest: dict[str, Any]) -> None:
        manifest = {**manifest, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (path / "manifest.json").write_text(json.dumps(manifest, indent=2))

    def activate(self, version: int) -> None:
        """Point `active.json` at a version atomically (write a temp file, then rename)."""
        tmp = self.root / "active.json.tmp"
        tmp.write_text(json.dumps({"version": version}))
        os.replace(tmp, self.root / "active.json")


def better(candidate: dict[str, float], incumbent: dict[str, float] | None) -> bool:
    """Exact match decides; edit similarity breaks a tie. Strictly better only."""
    if incumbent is None:
        return True
    a = (round(candidate["exact_match"], 6), round(candidate["edit_similarity"], 6))
    b = (round(incumbent["exact_match"], 6), round(incumbent["edit_similarity"], 6))
    return a > b

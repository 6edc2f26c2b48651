"""Versioned trained artefacts (LoRA adapters, embedders): one folder per version, each with a lineage manifest.

Both kinds live in a folder of the data directory (`DataDir.adapters`, `DataDir.embedders`) as `v001/`,
`v002/`, ... (older adapters named `v1/` are still read). Manifests and `active.json` pointers are written to
a temporary file and renamed, so a reader never sees half of one. Weights are hashed the same way for both.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
ACTIVE = "active.json"
_VERSION = re.compile(r"^v(\d+)$")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".gguf")


def version_name(number: int) -> str:
    return f"v{number:03d}"


def parse_version(text: str) -> int | None:
    """The number of a version written `v2`, `v002` or `2`; None when it is not one."""
    match = _VERSION.match(text if text.startswith("v") else f"v{text}")
    return int(match.group(1)) if match else None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class Registry:
    """The version folders under `root`, and which one is active."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def numbers(self) -> list[int]:
        """Versions that have a manifest, oldest first."""
        if not self.root.is_dir():
            return []
        found = {int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION.match(p.name)) and (p / MANIFEST).is_file()}
        return sorted(found)

    def folder(self, number: int) -> Path:
        """The folder of a version (an older `v1/` name if that is the one on disk)."""
        current, legacy = self.root / version_name(number), self.root / f"v{number}"
        return legacy if legacy.is_dir() and not current.is_dir() else current

    def reserve(self) -> tuple[int, Path]:
        """Create the next version's folder; safe against a concurrent run reserving one too."""
        self.root.mkdir(parents=True, exist_ok=True)
        number = max((int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION.match(p.name))), default=0)
        while True:
            number += 1
            folder = self.root / version_name(number)
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return number, folder

    def read_manifest(self, number: int) -> dict[str, Any]:
        data = json.loads((self.folder(number) / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def write_manifest(self, folder: Path, manifest: dict[str, Any]) -> None:
        stamped = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **manifest}
        write_json_atomic(folder / MANIFEST, stamped)

    def active_number(self) -> int | None:
        """The version `active.json` points at, if it still exists."""
        try:
            number = int(json.loads((self.root / ACTIVE).read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return number if number in self.numbers() else None

    def set_active(self, number: int) -> None:
        write_json_atomic(self.root / ACTIVE, {"version": number})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(model: str) -> str:
    """SHA-256 over a model's weight files (names and bytes): a folder's, or one file's (a `.gguf`);
    over the id itself for a hub model."""
    path = Path(model)
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.name.encode())
        digest.update(file_sha256(path).encode())
        return digest.hexdigest()
    if not path.is_dir():
        digest.update(model.encode())
        return digest.hexdigest()
    for weight in sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)):
        if "onnx" in weight.relative_to(path).parts[:-1]:
            continue  # a local ONNX export is derived from the weights, not part of them
        digest.update(str(weight.relative_to(path)).encode())
        digest.update(file_sha256(weight).encode())
    return digest.hexdigest()

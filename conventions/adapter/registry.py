"""Versioned LoRA adapters (`DataDir.adapters`), each with a lineage manifest, and the active one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot_index.indexer import CopilotIndexError

from ..registry import Registry, parse_version, version_name


@dataclass(frozen=True)
class AdapterVersion:
    version: int
    path: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return version_name(self.version)


class AdapterRegistry:
    """`<adapters>/v001/` (PEFT files, a GGUF LoRA where the base is a GGUF, manifest.json) and `active.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._versions = Registry(root)

    def versions(self) -> list[AdapterVersion]:
        versions = self._versions
        return [AdapterVersion(n, versions.folder(n), versions.read_manifest(n)) for n in versions.numbers()]

    def reserve(self) -> tuple[int, Path]:
        return self._versions.reserve()

    def active(self) -> AdapterVersion | None:
        number = self._versions.active_number()
        return next((v for v in self.versions() if v.version == number), None) if number is not None else None

    def version(self, name: str) -> AdapterVersion:
        """Adapter `name` (`v2`, `v002` or `2`), promoted or not; a clear error when there is none."""
        number = parse_version(name)
        for candidate in self.versions():
            if candidate.version == number:
                return candidate
        known = ", ".join(v.name for v in self.versions()) or "none yet"
        raise CopilotIndexError(f"There is no adapter {name} (trained: {known}); run `copilot-index train-adapter` first.")

    def write_manifest(self, path: Path, manifest: dict[str, Any]) -> None:
        self._versions.write_manifest(path, manifest)

    def activate(self, version: int) -> None:
        self._versions.set_active(version)


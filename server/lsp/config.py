"""Typed settings of the language server, from `.copilot-index.toml`, `initializationOptions` and
`workspace/configuration` (section `copilotIndex`), in rising precedence.

Every source has the same shape: a table per section (`lsp`, `completion`, `index`). The sources are
merged key by key and structured by `SectionConfig.from_mapping`, so a bad value keeps its default and
yields one warning sentence, which the server shows the user once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from copilot_index.indexer.config import CONFIG_FILE, IndexConfig, SectionConfig
from copilot_index.server.completion.config import CompletionConfig

CONFIGURATION_SECTION = "copilotIndex"
"""The `workspace/configuration` section the server asks the client for."""


@dataclass
class LspConfig(SectionConfig):
    """How the language server behaves (`[lsp]`)."""

    SECTION: ClassVar[str] = "lsp"

    index_on_start: bool = True
    """Bring the index up to date in the background when the server starts."""
    index_debounce_ms: int = 500
    """Quiet time after a save, a watched-file change or a HEAD move before re-indexing."""
    head_poll_seconds: float = 2.0
    """How often git HEAD is checked for a branch switch or a commit (0 turns the check off)."""
    completion_debounce_ms: float = 0.0
    """Wait this long before generating; a newer request for the same document in the meantime wins."""
    inline_completion: bool = True
    """Answer `textDocument/inlineCompletion`."""
    completion_fallback: bool = True
    """Answer `textDocument/completion` with one item carrying the suggestion."""
    guards: bool = True
    """Run the licence, security and secret guards on every suggestion before it is sent."""
    symbol_results: int = 50
    """Most results answered to `workspace/symbol`."""
    max_document_bytes: int = 4 * 1024 * 1024
    """Completion is not offered in larger documents (the server still tracks them)."""


SECTIONS: tuple[type[SectionConfig], ...] = (LspConfig, CompletionConfig, IndexConfig)


@dataclass
class Settings:
    """All typed settings for one repository, with the warnings met while reading them."""

    lsp: LspConfig = field(default_factory=LspConfig)
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, root: Path | None, *sources: tuple[str, Any]) -> Settings:
        """Structure the repository's config file plus `sources` ((name, mapping), later ones win)."""
        warnings: list[str] = []
        layers: list[tuple[str, Any]] = []
        if root is not None:
            layers.append((CONFIG_FILE, _read_toml(root / CONFIG_FILE, warnings)))
        layers.extend(sources)
        merged: dict[str, dict[str, Any]] = {section.SECTION: {} for section in SECTIONS}
        for name, data in layers:
            if data is None:
                continue
            if not isinstance(data, Mapping):
                warnings.append(f"{name}: the settings must be an object with lsp, completion and index tables; "
                                "they are ignored.")
                continue
            for key, table in data.items():
                if key not in merged:
                    continue  # other sections (guards, eval, ...) belong to other parts of the product
                if not isinstance(table, Mapping):
                    warnings.append(f"{name}: {key} must be a table of settings; it is ignored.")
                    continue
                merged[key].update(table)
        source = "copilot-index settings"
        settings = cls(
            lsp=LspConfig.from_mapping(merged["lsp"], source),
            completion=CompletionConfig.from_mapping(merged["completion"], source),
            index=IndexConfig.from_mapping(merged["index"], source),
        )
        settings.warnings = warnings + settings.lsp.warnings + settings.completion.warnings + settings.index.warnings
        return settings


def _read_toml(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        warnings.append(f"{path.name} could not be read ({exc}); using the default settings.")
        return None

"""All typed settings for one repository, read once through the indexer's layered reader.

The CLI builds them from the user's file and the repository's `.copilot-index.toml`; the language server adds
`initializationOptions` and the client's workspace configuration (globally, then for the repository's folder).
Every section can be set from every layer, `[guards]` included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from copilot_index.conventions.checks import ConventionsConfig
from copilot_index.conventions.guards import GuardConfig
from copilot_index.indexer import ConfigLayers, IndexConfig, SectionConfig

from .completion.config import CompletionConfig


@dataclass
class LspConfig(SectionConfig):
    """How the language server behaves (`[lsp]`)."""

    SECTION: ClassVar[str] = "lsp"
    ZERO_OK: ClassVar[frozenset[str]] = frozenset({"prefetch_after_ms"})
    SENSITIVE: ClassVar[frozenset[str]] = frozenset({"guards"})

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
    prefetch: bool = True
    """While a suggestion is shown, compute the next one as if it were accepted (answered from the cache then)."""
    prefetch_after_ms: int = 300
    """How long a suggestion must stay shown, with no keystroke, before its follow-up is computed: while the user
    types on, a prefetch would only hold the model when the next keystroke needs it."""
    symbol_results: int = 50
    """Most results answered to `workspace/symbol`."""
    max_document_bytes: int = 4 * 1024 * 1024
    """Completion is not offered in larger documents (the server still tracks them)."""


@dataclass
class Settings:
    """Every section, with the warnings met while reading them (each once)."""

    index: IndexConfig = field(default_factory=IndexConfig)
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    guards: GuardConfig = field(default_factory=GuardConfig)
    conventions: ConventionsConfig = field(default_factory=ConventionsConfig)
    lsp: LspConfig = field(default_factory=LspConfig)
    warnings: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def build(cls, root: Path | None, *sources: tuple[str, Any], trusted: bool | None = None) -> Settings:
        """The user's file, the repository's file at `root`, then `sources` ((name, mapping), later ones win).
        `trusted` None: the repository's sensitive settings apply if the user ran `copilot-index trust` on it."""
        layers = ConfigLayers.for_repo(root, *sources, trusted=trusted)
        sections: dict[str, Any] = {}
        warnings: list[str] = []
        for name, section_type in SECTIONS.items():
            section = sections[name] = layers.section(section_type, notice=False)
            warnings.extend(w for w in section.warnings if w not in warnings)
        if layers.ignored:
            warnings.append(layers.untrusted_notice(layers.ignored))
        return cls(**sections, warnings=warnings)


SECTIONS: dict[str, type[SectionConfig]] = {
    "index": IndexConfig, "completion": CompletionConfig, "guards": GuardConfig,
    "conventions": ConventionsConfig, "lsp": LspConfig,
}
"""Each field of `Settings` and the section type it holds."""

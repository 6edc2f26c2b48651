"""copilot-index's indexer: git scan -> tree-sitter chunks -> secret redaction -> embeddings -> SQLite (vec0 +
FTS5) -> search.

The front door is `Index` (open, update, search, status, the writer lock, vector swaps) with `DataDir`, which
names every file the project keeps. The other names here are the indexer's building blocks that the
`conventions` layer reuses to read repositories the way the index does. Other layers import from this
package only, never from its modules (`store` above all). Names load on first use, so importing the
package costs nothing until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import fingerprints, keywords, languages
    from .active_embedder import active_embedder_id, clear_active, write_active
    from .chunker import Chunk, Chunker
    from .config import CONFIG_FILE, DEFAULT_EMBEDDER, MINILM_EMBEDDER, ConfigLayers, IndexConfig, SectionConfig
    from .datadir import DataDir, onnx_exports, user_cache, user_config
    from .embedder import MODEL_LOADING, Embedder, EmbedderNotFoundError, embedder_for, resolve_embedder_path
    from .errors import (
        ConfigError,
        CopilotIndexError,
        EmbedderMismatchError,
        IndexAccessError,
        IndexBusyError,
        IndexCorruptError,
        NoIndexError,
        NotARepositoryError,
    )
    from .index import Index
    from .keywords import fts_query, keyword_text, query_terms, split_identifier
    from .languages import comment_prefix, has_definitions, is_code, language_for_path
    from .licenses import LicenseDetector, comment_text, detect_text, header_license, is_copyleft, same_license
    from .pipeline import IndexSummary
    from .redact import PEM_KIND, PLACEHOLDER, Redactor
    from .reembed import ReembedError, ReembedSummary
    from .repo import RepoInfo, resolve_repo
    from .scanner import Scanner, read_source
    from .search import MODES, Mode, SearchResult
    from .status import IndexStatus
    from .store import FingerprintHit
    from .trust import is_trusted, set_trusted, trusted_roots

_EXPORTS = {
    "fingerprints": "", "keywords": "", "languages": "",
    "active_embedder_id": "active_embedder", "clear_active": "active_embedder", "write_active": "active_embedder",
    "Chunk": "chunker", "Chunker": "chunker",
    "CONFIG_FILE": "config", "ConfigLayers": "config", "DEFAULT_EMBEDDER": "config", "MINILM_EMBEDDER": "config",
    "IndexConfig": "config", "SectionConfig": "config",
    "DataDir": "datadir", "onnx_exports": "datadir", "user_cache": "datadir", "user_config": "datadir",
    "Embedder": "embedder", "EmbedderNotFoundError": "embedder", "embedder_for": "embedder",
    "resolve_embedder_path": "embedder", "MODEL_LOADING": "embedder",
    "ConfigError": "errors", "CopilotIndexError": "errors", "EmbedderMismatchError": "errors",
    "IndexAccessError": "errors", "IndexBusyError": "errors", "IndexCorruptError": "errors", "NoIndexError": "errors",
    "NotARepositoryError": "errors",
    "Index": "index",
    "fts_query": "keywords", "keyword_text": "keywords", "query_terms": "keywords", "split_identifier": "keywords",
    "comment_prefix": "languages", "has_definitions": "languages", "is_code": "languages",
    "language_for_path": "languages",
    "LicenseDetector": "licenses", "comment_text": "licenses", "detect_text": "licenses",
    "header_license": "licenses", "is_copyleft": "licenses", "same_license": "licenses",
    "IndexSummary": "pipeline",
    "PEM_KIND": "redact", "PLACEHOLDER": "redact", "Redactor": "redact",
    "ReembedError": "reembed", "ReembedSummary": "reembed",
    "RepoInfo": "repo", "resolve_repo": "repo",
    "Scanner": "scanner", "read_source": "scanner",
    "is_trusted": "trust", "set_trusted": "trust", "trusted_roots": "trust",
    "MODES": "search", "Mode": "search", "SearchResult": "search",
    "IndexStatus": "status",
    "FingerprintHit": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module == "":
        return importlib.import_module(f"{__name__}.{name}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

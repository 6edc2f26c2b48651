"""ChunkStore: the SQLite index (sqlean + sqlite-vec vec0 + FTS5). Every SQL statement against the index's schema
lives in this package, and only the indexer imports it (an import-linter contract).

- `database.py`: opening, identity, numbered migrations, the per-index salt, meta, transactions, integrity;
- `writes.py`: files with their chunks, vectors, keyword rows and fingerprints; the embedding cache; staging;
- `reads.py`: what the indexer, the guards and the status read;
- `search_queries.py`: what hybrid search reads.
"""

from __future__ import annotations

from .database import (
    CACHE_LIMIT,
    DIGEST_SALT,
    FingerprintHit,
    StoredFile,
    keyed_digest,
    sign_bits,
    storage_error,
    vector_blob,
)
from .reads import Reads
from .search_queries import ChunkRow, SearchQueries
from .writes import Writes

__all__ = [
    "CACHE_LIMIT", "DIGEST_SALT", "ChunkRow", "ChunkStore", "FingerprintHit", "StoredFile", "keyed_digest",
    "sign_bits", "storage_error", "vector_blob",
]


class ChunkStore(Reads, Writes, SearchQueries):
    """Files, chunks, vectors and keyword rows of one repository's index, over one connection."""

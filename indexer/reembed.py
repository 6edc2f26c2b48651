"""Re-embed an existing index with another embedder, swapping all vectors over in one transaction.

New vectors are first staged in a connection-private TEMP table while the index keeps answering
searches with the old ones. When every chunk has a new vector, one write transaction replaces the
float and bit vectors and the `embedder` meta row together. In WAL mode a reader sees either the whole
old index or the whole new one, never a mixture, and never an error. The caller holds the index lock
throughout, so no indexer adds chunks embedded with the old model in the meantime.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .embedder import Embedder, weights_digest
from .errors import CopilotIndexError
from .store import ChunkStore, vector_blob

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
BATCH = 256
"""Chunks embedded per step (and per progress report)."""


class ReembedError(CopilotIndexError):
    """The index cannot be re-embedded with the given embedder."""


@dataclass
class ReembedSummary:
    embedder: str
    chunks: int
    vectors: int
    """Distinct chunk texts embedded (identical chunks share one vector)."""
    seconds: float


def reembed(store: ChunkStore, embedder: Embedder, progress: ProgressCallback) -> ReembedSummary:
    """Replace every vector in `store` with `embedder`'s (the caller holds the writer lock)."""
    started = time.monotonic()
    if store.dimension is not None and store.dimension != embedder.dimension:
        raise ReembedError(
            f"The index holds {store.dimension}-dimensional vectors but {embedder.model_id} makes "
            f"{embedder.dimension}-dimensional ones; rebuild the index with `copilot-index index --rebuild`."
        )
    chunks = vectors = 0
    weights = weights_digest(embedder.model_id)
    if store.get_meta("embedder") is None:  # an index with no vectors yet: nothing to swap
        store.ensure_embedder(embedder.model_id, embedder.dimension, weights)
    else:
        chunks, vectors = _stage(store, embedder, progress)
        if not store.swap_staged_vectors(embedder.model_id, embedder.dimension, weights):
            raise ReembedError("The index changed while it was being re-embedded; run the command again.")
    summary = ReembedSummary(embedder.model_id, chunks, vectors, time.monotonic() - started)
    log.info("re-embedded %d chunks (%d distinct) with %s in %.1fs", chunks, vectors, embedder.model_id, summary.seconds)
    return summary


def _stage(store: ChunkStore, embedder: Embedder, progress: ProgressCallback) -> tuple[int, int]:
    """Embed every chunk into the store's staging table; returns (chunks, distinct texts)."""
    store.begin_staging()
    rows = store.all_chunks()
    ids_by_text: dict[str, list[int]] = {}
    for chunk_id, chunk in rows:
        ids_by_text.setdefault(chunk.embedding_text(), []).append(chunk_id)
    texts = sorted(ids_by_text, key=len)  # similar lengths per batch: less padding
    progress("Re-embedding", 0, len(texts))
    for first in range(0, len(texts), BATCH):
        part = texts[first : first + BATCH]
        vectors = embedder.embed(part)
        store.stage_vectors(
            [(chunk_id, vector_blob(v)) for text, v in zip(part, vectors, strict=True) for chunk_id in ids_by_text[text]]
        )
        progress("Re-embedding", first + len(part), len(texts))
    return len(rows), len(texts)

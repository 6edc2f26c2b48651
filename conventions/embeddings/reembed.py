"""Re-embed an existing index with another embedder, swapping all vectors over in one transaction.

New vectors are first staged in a connection-private TEMP table while the index keeps answering
searches with the old ones. When every chunk has a new vector, one write transaction replaces the
float and bit vectors and the `embedder` meta row together. In WAL mode a reader sees either the whole
old index or the whole new one, never a mixture, and never an error. The index lock is held throughout,
so no indexer adds chunks embedded with the old model in the meantime.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from copilot_index.indexer.chunker import Chunk
from copilot_index.indexer.embedder import Embedder
from copilot_index.indexer.errors import CopilotIndexError, NoIndexError
from copilot_index.indexer.lock import IndexLock
from copilot_index.indexer.store import DB_NAME, ChunkStore, vector_blob

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


def reembed_index(
    data_dir: Path,
    embedder: Embedder,
    progress: ProgressCallback | None = None,
    lock_wait_seconds: float = 0.0,
) -> ReembedSummary:
    """Replace every vector of the index in `data_dir` with `embedder`'s; the swap is atomic."""
    progress = progress or (lambda description, done, total: None)
    db = data_dir / DB_NAME
    if not db.is_file():
        raise NoIndexError(f"There is no index in {data_dir} to re-embed; run `copilot-index index` first.")
    started = time.monotonic()
    with IndexLock(data_dir / "index.lock", wait_seconds=lock_wait_seconds):
        store = ChunkStore(db, create=False)
        try:
            if store.dimension is not None and store.dimension != embedder.dimension:
                raise ReembedError(
                    f"The index holds {store.dimension}-dimensional vectors but {embedder.model_id} makes "
                    f"{embedder.dimension}-dimensional ones; rebuild the index with `copilot-index index --rebuild`."
                )
            if store.get_meta("embedder") is None:  # an index with no vectors yet: nothing to swap
                store.ensure_embedder(embedder.model_id, embedder.dimension)
                chunks = vectors = 0
            else:
                chunks, vectors = _stage(store, embedder, progress)
                _swap(store, embedder)
        finally:
            store.close()
    summary = ReembedSummary(embedder.model_id, chunks, vectors, time.monotonic() - started)
    log.info("re-embedded %d chunks (%d distinct) with %s in %.1fs", chunks, vectors, embedder.model_id, summary.seconds)
    return summary


def _stage(store: ChunkStore, embedder: Embedder, progress: ProgressCallback) -> tuple[int, int]:
    """Embed every chunk into TEMP table staged_vectors; returns (chunks, distinct texts)."""
    conn = store.conn
    conn.execute("DROP TABLE IF EXISTS temp.staged_vectors")
    conn.execute("CREATE TEMP TABLE staged_vectors(chunk_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")
    rows = conn.execute(
        "SELECT c.id, f.path, c.language, c.symbol, c.kind, c.start_line, c.end_line, c.text, c.context "
        "FROM chunks c JOIN files f ON f.id = c.file_id"
    ).fetchall()
    ids_by_text: dict[str, list[int]] = {}
    for chunk_id, path, language, symbol, kind, start, end, text, context in rows:
        chunk = Chunk(path, language, symbol, kind, start, end, text, context)
        ids_by_text.setdefault(chunk.embedding_text(), []).append(chunk_id)
    texts = sorted(ids_by_text, key=len)  # similar lengths per batch: less padding
    progress("Re-embedding", 0, len(texts))
    for first in range(0, len(texts), BATCH):
        part = texts[first : first + BATCH]
        vectors = embedder.embed(part)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO temp.staged_vectors(chunk_id, embedding) VALUES (?, ?)",
            [(chunk_id, vector_blob(v)) for text, v in zip(part, vectors, strict=True) for chunk_id in ids_by_text[text]],
        )
        conn.execute("COMMIT")
        progress("Re-embedding", first + len(part), len(texts))
    return len(rows), len(texts)


def _swap(store: ChunkStore, embedder: Embedder) -> None:
    """Replace all vectors (every representation the store keeps) and the embedder meta in one transaction."""
    conn = store.conn
    with store.transaction():
        staged = conn.execute("SELECT chunk_id, embedding FROM temp.staged_vectors").fetchall()
        live = {r[0] for r in conn.execute("SELECT id FROM chunks")}
        if live != {chunk_id for chunk_id, _ in staged}:
            raise ReembedError("The index changed while it was being re-embedded; run the command again.")
        store.set_vectors(staged)
        store.set_meta("embedder", embedder.model_id)
        store.set_meta("embedder_dimension", str(embedder.dimension))
    conn.execute("DROP TABLE IF EXISTS temp.staged_vectors")

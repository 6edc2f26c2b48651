"""Writing the index: a file with its chunks, vectors, keyword rows and fingerprints in one go; retiring chunks to the
embedding cache; rebuilding the keyword table once deleted rows skew its statistics; re-embedding through a staging
table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from .. import fingerprints
from ..chunker import Chunk
from ..keywords import keyword_text
from .database import CACHE_LIMIT, EMBEDDER_WEIGHTS, Database, StoredFile, keyed_digest, sign_bits

KEYWORD_STALE_ROWS = "keyword_stale_rows"
"""Meta key: rows deleted from the contentless FTS5 table since it was last filled from scratch. FTS5 cannot take a
deleted row's tokens out of the bm25 statistics (row count, token totals), so each one skews the keyword scores (a
whole repository chunked again once raised superagent's bm25 scores by 29 % and moved its MRR@10 by a point, and an
index's ranking came to depend on its history: tests/benchmarks/bench_keyword_drift.py)."""
KEYWORD_REBUILD_SHARE = 0.1
"""The keyword table is rebuilt when its stale rows reach this share of the live ones (0.5 ms a chunk on 2 cores)."""
INSERT_KEYWORDS = "INSERT INTO chunks_fts(rowid, symbol, path, body) VALUES (?, ?, ?, ?)"
"""One chunk's keyword row: its id and `keyword_columns`."""


def keyword_columns(symbol: str, path_words: str, context: str, text: str) -> tuple[str, str, str]:
    """The keyword table's symbol, path and body columns for a chunk (`path_words`: `keyword_text` of its path)."""
    return keyword_text(symbol), path_words, keyword_text(context + "\n" + text)


class Writes(Database):
    """Every write of the index (call them inside `transaction()`, but for the staging ones)."""

    def delete_file(self, path: str) -> int:
        """Remove a file and its chunks; their vectors move to the cache. Returns the chunks removed."""
        row = self.conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        if row is None:
            return 0
        ids = [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE file_id = ?", (row[0],))]
        self._retire_chunks(ids)
        self.conn.execute("DELETE FROM files WHERE id = ?", (row[0],))
        return len(ids)

    def _retire_chunks(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        embedder = self.get_meta("embedder") or ""
        now = int(time.time())
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            marks = ",".join("?" * len(part))
            if self._dimension is not None:
                self.conn.execute(
                    f"INSERT OR REPLACE INTO embedding_cache(embedder, chunk_hash, embedding, last_used) "
                    f"SELECT ?, c.chunk_hash, v.embedding, ? FROM chunks c JOIN chunk_embeddings v ON v.chunk_id = c.id "
                    f"WHERE c.id IN ({marks})",
                    [embedder, now, *part],
                )
                self.conn.execute(f"DELETE FROM chunk_embeddings WHERE chunk_id IN ({marks})", part)
                self.conn.execute(f"DELETE FROM chunk_vectors WHERE rowid IN ({marks})", part)
            self.conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({marks})", part)
            self.conn.execute(f"DELETE FROM chunk_fingerprints WHERE chunk_id IN ({marks})", part)
            self.conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", part)
        self.set_meta(KEYWORD_STALE_ROWS, str(self.stale_keyword_rows() + len(ids)))

    def stale_keyword_rows(self) -> int:
        """Rows deleted from the keyword table since it was last filled from scratch (`KEYWORD_STALE_ROWS`); an
        unreadable count counts as the whole table, so the next update refills it."""
        try:
            return int(self.get_meta(KEYWORD_STALE_ROWS) or 0)
        except ValueError:
            return self.count("chunks")

    def rebuild_stale_keywords(self) -> int:
        """Fill the keyword table again from the chunks when its stale rows reach `KEYWORD_REBUILD_SHARE` of the live
        ones, so bm25 counts only what the index holds. The stale rows it cleared (0: it did nothing)."""
        stale = self.stale_keyword_rows()
        if not stale or stale < KEYWORD_REBUILD_SHARE * self.count("chunks"):
            return 0
        self.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all')")
        self.conn.executemany(INSERT_KEYWORDS, self.keyword_rows())
        self.set_meta(KEYWORD_STALE_ROWS, "0")
        return stale

    def keyword_rows(self) -> list[tuple[int, str, str, str]]:
        """Every chunk's keyword row (id, symbol, path, body), as `write_file` writes it."""
        rows = self.conn.execute(
            "SELECT c.id, c.symbol, f.path, c.context, c.text FROM chunks c JOIN files f ON f.id = c.file_id"
        )
        return [(i, *keyword_columns(symbol, keyword_text(path), context, text)) for i, symbol, path, context, text in rows]

    def write_file(
        self,
        stored: StoredFile,
        language: str,
        chunks: Sequence[Chunk],
        vectors: Sequence[bytes],
        redactions: int = 0,
        digests: Iterable[str] = (),
        license: str | None = None,
    ) -> int:
        """Replace a file's chunks with new ones. Returns how many old chunks were removed."""
        assert len(chunks) == len(vectors)
        removed = self.delete_file(stored.path)
        cur = self.conn.execute(
            "INSERT INTO files(path, content_hash, size, mtime_ns, language, chunk_count, redactions, license) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (stored.path, stored.content_hash, stored.size, stored.mtime_ns, language, len(chunks), redactions, license),
        )
        file_id = cur.lastrowid
        path_words = keyword_text(stored.path)
        for chunk, blob in zip(chunks, vectors, strict=True):
            cur = self.conn.execute(
                "INSERT INTO chunks(file_id, language, symbol, kind, start_line, end_line, context, text, chunk_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (file_id, chunk.language, chunk.symbol, chunk.kind, chunk.start_line, chunk.end_line,
                 chunk.context, chunk.text, chunk.content_hash),
            )
            chunk_id = cur.lastrowid
            self.conn.execute(
                "INSERT INTO chunk_embeddings(chunk_id, embedding, bits) VALUES (?, ?, ?)", (chunk_id, blob, sign_bits(blob))
            )
            self.conn.execute("INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)", (chunk_id, blob))
            keywords = keyword_columns(chunk.symbol, path_words, chunk.context, chunk.text)
            self.conn.execute(INSERT_KEYWORDS, (chunk_id, *keywords))
            self._write_fingerprints(chunk_id, chunk.text)
        self.conn.executemany("INSERT OR IGNORE INTO redacted_digests(digest) VALUES (?)",
                              [(keyed_digest(self._salt, d),) for d in digests])
        return removed

    def _write_fingerprints(self, chunk_id: int | None, text: str) -> None:
        self.conn.executemany(
            "INSERT INTO chunk_fingerprints(hash, chunk_id, position) VALUES (?, ?, ?)",
            [(h, chunk_id, pos) for h, pos in fingerprints.fingerprints(text)],
        )

    def backfill_guard_data(self, license_of: Callable[[str, str], str | None]) -> int:
        """Compute fingerprints and licences for chunks indexed before they were kept (or by another version).

        `license_of(path, first_chunk_text)` gives a file's licence. Returns the chunks fingerprinted.
        """
        if self.get_meta("fingerprints") == fingerprints.VERSION:
            return 0
        self.conn.execute("DELETE FROM chunk_fingerprints")
        rows = self.conn.execute("SELECT id, text FROM chunks").fetchall()
        for chunk_id, text in rows:
            self._write_fingerprints(chunk_id, text)
        for file_id, path, head in self.conn.execute(
            "SELECT f.id, f.path, (SELECT text FROM chunks c WHERE c.file_id = f.id ORDER BY start_line LIMIT 1) "
            "FROM files f WHERE f.license IS NULL"
        ).fetchall():
            self.conn.execute("UPDATE files SET license = ? WHERE id = ?", (license_of(path, head or ""), file_id))
        self.set_meta("fingerprints", fingerprints.VERSION)
        return len(rows)

    def set_vectors(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """Replace the vectors of existing chunks (chunk id, float32 blob), in every representation."""
        self.conn.executemany(
            "UPDATE chunk_embeddings SET embedding = ?, bits = ? WHERE chunk_id = ?",
            [(blob, sign_bits(blob), chunk_id) for chunk_id, blob in rows],
        )
        self.conn.executemany("DELETE FROM chunk_vectors WHERE rowid = ?", [(chunk_id,) for chunk_id, _ in rows])
        self.conn.executemany("INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)", rows)

    def touch_file(self, stored: StoredFile) -> None:
        """Record a new mtime/size for a file whose content did not change."""
        self.conn.execute(
            "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (stored.size, stored.mtime_ns, stored.path)
        )

    def prune_cache(self, limit: int = CACHE_LIMIT) -> None:
        excess = self.count("embedding_cache") - limit
        if excess > 0:
            self.conn.execute(
                "DELETE FROM embedding_cache WHERE (embedder, chunk_hash) IN "
                "(SELECT embedder, chunk_hash FROM embedding_cache ORDER BY last_used LIMIT ?)",
                (excess,),
            )

    def begin_staging(self) -> None:
        """Start a connection-private TEMP table for new vectors; the index keeps answering with the old ones."""
        self.conn.execute("DROP TABLE IF EXISTS temp.staged_vectors")
        self.conn.execute("CREATE TEMP TABLE staged_vectors(chunk_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")

    def stage_vectors(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """Stage new vectors (chunk id, float32 blob) in one short transaction."""
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO temp.staged_vectors(chunk_id, embedding) VALUES (?, ?)", rows)
        self.conn.execute("COMMIT")

    def swap_staged_vectors(self, embedder_id: str, dimension: int, weights: str | None = None) -> bool:
        """Replace every vector with the staged ones and record the embedder, in one transaction.

        False (and nothing changed) when the staged vectors no longer cover exactly the index's chunks.
        """
        try:
            with self.transaction():
                staged = self.conn.execute("SELECT chunk_id, embedding FROM temp.staged_vectors").fetchall()
                live = {r[0] for r in self.conn.execute("SELECT id FROM chunks")}
                if live != {chunk_id for chunk_id, _ in staged}:
                    return False
                self.set_vectors(staged)
                self.set_meta("embedder", embedder_id)
                self.set_meta("embedder_dimension", str(dimension))
                self.conn.execute("DELETE FROM meta WHERE key = ?", (EMBEDDER_WEIGHTS,))
                if weights is not None:
                    self.set_meta(EMBEDDER_WEIGHTS, weights)
        finally:
            self.conn.execute("DROP TABLE IF EXISTS temp.staged_vectors")
        return True

"""The queries hybrid search runs: KNN over sqlite-vec, exact cosine for given chunks, bm25 over FTS5, the sign bits
of every vector for the Hamming prefilter, the labels ranking reads (path, symbol, language) and the rows of the
chunks a search returns."""

from __future__ import annotations

from collections.abc import Iterable

from .database import Database

BATCH = 500
"""Ids per `IN (...)` list."""

ChunkRow = tuple[str, int, int, str, str, str, str]
"""(path, start_line, end_line, symbol, kind, language, text)."""


class SearchQueries(Database):
    """Read-only queries of `indexer.search`, each returning plain values."""

    def nearest(self, vector: bytes, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine distance) of the `k` vectors nearest a float32 query vector (exact KNN in vec0)."""
        rows = self.conn.execute(
            "SELECT rowid, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ?", (vector, k)
        ).fetchall()
        return [(int(rowid), float(distance)) for rowid, distance in rows]

    def cosine_distances(self, vector: bytes, ids: Iterable[int]) -> list[tuple[int, float]]:
        """(chunk id, cosine distance to `vector`) for the given chunks."""
        id_list = list(ids)
        found: list[tuple[int, float]] = []
        for i in range(0, len(id_list), BATCH):
            part = id_list[i : i + BATCH]
            marks = ",".join("?" * len(part))
            found += self.conn.execute(
                f"SELECT chunk_id, vec_distance_cosine(embedding, ?) FROM chunk_embeddings WHERE chunk_id IN ({marks})",
                [vector, *part],
            ).fetchall()
        return found

    def keyword_matches(self, match: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, bm25 score, larger is better) of the best FTS5 matches of a MATCH expression; symbol names
        weigh 4 times the path and the body."""
        rows = self.conn.execute(
            "SELECT rowid, bm25(chunks_fts, 4.0, 1.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        ).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]  # bm25() is lower-is-better and negative

    def chunk_paths(self, language: str | None = None) -> list[tuple[int, str]]:
        """(chunk id, file path) of every chunk, or of one language's."""
        sql = "SELECT c.id, f.path FROM chunks c JOIN files f ON f.id = c.file_id"
        rows = self.conn.execute(sql + " WHERE c.language = ?", (language,)) if language else self.conn.execute(sql)
        return [(int(chunk_id), path) for chunk_id, path in rows]

    def chunk_labels(self, ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """(file path, symbol, language) of each chunk, by id: what ranking needs to know of a candidate."""
        found: dict[int, tuple[str, str, str]] = {}
        for i in range(0, len(ids), BATCH):
            part = ids[i : i + BATCH]
            marks = ",".join("?" * len(part))
            for chunk_id, path, symbol, language in self.conn.execute(
                "SELECT c.id, f.path, c.symbol, c.language "
                f"FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})",
                part,
            ):
                found[int(chunk_id)] = (path, symbol or "", language)
        return found

    def chunk_rows(self, ids: list[int]) -> dict[int, ChunkRow]:
        """What a search result shows of each chunk, by id (chunks deleted meanwhile are absent)."""
        found: dict[int, ChunkRow] = {}
        for i in range(0, len(ids), BATCH):
            part = ids[i : i + BATCH]
            marks = ",".join("?" * len(part))
            for row in self.conn.execute(
                "SELECT c.id, f.path, c.start_line, c.end_line, c.symbol, c.kind, c.language, c.text "
                f"FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})",
                part,
            ):
                found[int(row[0])] = tuple(row[1:])  # type: ignore[assignment]
        return found

    def all_sign_bits(self) -> list[tuple[int, bytes]]:
        """(chunk id, sign bits) of every vector."""
        return [(int(chunk_id), bits) for chunk_id, bits in self.conn.execute("SELECT chunk_id, bits FROM chunk_embeddings")]

    def data_version(self) -> int:
        """Changes when another connection commits to the file (SQLite's `PRAGMA data_version`)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

"""What the indexer, the guards and the status ask of the index (searches have `search_queries.py`)."""

from __future__ import annotations

from collections.abc import Iterable

from ..chunker import Chunk
from .database import Database, FingerprintHit, StoredFile, keyed_digest, like_escape


class Reads(Database):
    """Files, chunks, vectors by hash, licences, fingerprints and redacted-value digests."""

    def files(self) -> dict[str, StoredFile]:
        rows = self.conn.execute("SELECT path, content_hash, size, mtime_ns FROM files")
        return {r[0]: StoredFile(*r) for r in rows}

    def live_vectors(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """Vectors already in the index or the cache for these chunk hashes."""
        wanted = list(set(hashes))
        found: dict[str, bytes] = {}
        embedder = self.get_meta("embedder") or ""
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            for h, blob in self.conn.execute(
                f"SELECT c.chunk_hash, v.embedding FROM chunks c JOIN chunk_embeddings v ON v.chunk_id = c.id "
                f"WHERE c.chunk_hash IN ({marks})",
                part,
            ):
                found.setdefault(h, blob)
            missing = [h for h in part if h not in found]
            if missing:
                marks = ",".join("?" * len(missing))
                rows = self.conn.execute(
                    f"SELECT chunk_hash, embedding FROM embedding_cache WHERE embedder = ? AND chunk_hash IN ({marks})",
                    [embedder, *missing],
                ).fetchall()
                for h, blob in rows:
                    found[h] = blob
        return found

    def chunk_hashes(self, path: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT c.chunk_hash FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.path = ?", (path,)
        )
        return [r[0] for r in rows]

    def redacted_digests(self) -> set[str]:
        """The stored digests of every value the indexer redacted: HMAC-SHA256 of the value's SHA-256, keyed
        with this index's salt (never the values, nor a plain hash a precomputed dictionary could look up)."""
        return {r[0] for r in self.conn.execute("SELECT digest FROM redacted_digests")}

    def known_digests(self, digests: Iterable[str]) -> set[str]:
        """The stored (keyed) digests of those of these value digests (`redact.value_digest`) that belong to
        a value the indexer redacted."""
        wanted = list({keyed_digest(self._salt, d) for d in digests})
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        return {r[0] for r in self.conn.execute(f"SELECT digest FROM redacted_digests WHERE digest IN ({marks})", wanted)}

    def file_license(self, path: str) -> str | None:
        row = self.conn.execute("SELECT license FROM files WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def fingerprint_matches(self, hashes: Iterable[int], limit: int = 5) -> list[FingerprintHit]:
        """Chunks holding any of these k-gram hashes among their fingerprints, most hits first."""
        wanted = list(set(hashes))
        counts: dict[int, int] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            for chunk_id, n in self.conn.execute(
                f"SELECT chunk_id, count(*) FROM chunk_fingerprints WHERE hash IN ({marks}) GROUP BY chunk_id", part
            ):
                counts[chunk_id] = counts.get(chunk_id, 0) + n
        best = sorted(counts, key=lambda c: -counts[c])[:limit]
        hits = []
        for chunk_id in best:
            row = self.conn.execute(
                "SELECT f.path, c.start_line, c.end_line, c.text, f.license FROM chunks c "
                "JOIN files f ON f.id = c.file_id WHERE c.id = ?",
                (chunk_id,),
            ).fetchone()
            if row:
                path, start, end, text, license = row
                hits.append(FingerprintHit(chunk_id, path, start, end, text, license, counts[chunk_id]))
        return hits

    def chunks_near(self, path: str, first_line: int, last_line: int) -> list[tuple[int, int, str]]:
        """(start_line, end_line, text) of a file's chunks that touch lines first_line..last_line."""
        rows = self.conn.execute(
            "SELECT c.start_line, c.end_line, c.text FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE f.path = ? AND c.end_line >= ? AND c.start_line <= ? ORDER BY c.start_line",
            (path, first_line, last_line),
        )
        return [(a, b, t) for a, b, t in rows]

    def chunks_per_language(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT language, count(*) FROM chunks GROUP BY language ORDER BY 2 DESC")
        return {lang: n for lang, n in rows}

    def chunks_named(self, name: str, limit: int) -> list[tuple[str, int, int, str, str, str, str]]:
        """(path, start_line, end_line, symbol, kind, language, text) of definitions called `name` (exactly, or as
        the last part of a dotted name), case-sensitive matches first."""
        rows = self.conn.execute(
            "SELECT f.path, c.start_line, c.end_line, c.symbol, c.kind, c.language, c.text FROM chunks c "
            "JOIN files f ON f.id = c.file_id WHERE c.symbol = ? COLLATE NOCASE OR c.symbol LIKE ? ESCAPE '\\' "
            "ORDER BY (c.symbol = ? OR c.symbol LIKE ? ESCAPE '\\') DESC, f.path, c.start_line LIMIT ?",
            (name, "%." + like_escape(name), name, "%." + like_escape(name), limit * 4),
        ).fetchall()
        last = name.lower()
        return [r for r in rows if r[3].rsplit(".", 1)[-1].lower() == last][:limit]

    def redactions_total(self) -> int:
        """How many secret values were redacted in the files the index holds."""
        return int(self.conn.execute("SELECT coalesce(sum(redactions), 0) FROM files").fetchone()[0])

    def all_chunks(self) -> list[tuple[int, Chunk]]:
        """(chunk id, chunk) of every chunk in the index, to re-embed them."""
        rows = self.conn.execute(
            "SELECT c.id, f.path, c.language, c.symbol, c.kind, c.start_line, c.end_line, c.text, c.context "
            "FROM chunks c JOIN files f ON f.id = c.file_id"
        ).fetchall()
        return [(row[0], Chunk(*row[1:])) for row in rows]

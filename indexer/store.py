"""ChunkStore: the SQLite index (sqlean + sqlite-vec vec0 + FTS5), with numbered migrations.

WAL mode lets searches run while an indexer writes. Every file is written in one
transaction together with its chunks, vectors and keyword rows, so a kill at any moment
leaves each file either fully old or fully new; the next run finishes the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import sqlean
import sqlite_vec

from . import fingerprints
from .chunker import Chunk
from .errors import CopilotIndexError, EmbedderMismatchError, IndexAccessError, IndexCorruptError
from .keywords import keyword_text

log = logging.getLogger(__name__)

APPLICATION_ID = 0x43504958  # "CPIX": marks the file as a copilot-index database
DB_NAME = "index.db"
DIGEST_SALT = "digest_salt"
"""Meta key of the index's random salt for the digests of redacted values."""
CACHE_LIMIT = 200_000
"""Most vectors kept for chunks that left the index; the least recently used go first."""


@dataclass(frozen=True)
class StoredFile:
    path: str
    content_hash: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FingerprintHit:
    """An indexed chunk sharing fingerprints with a query text."""

    chunk_id: int
    path: str
    start_line: int
    end_line: int
    text: str
    license: str | None
    """SPDX id or expression of the chunk's file, or None when unknown."""
    hits: int
    """How many of the query's k-gram hashes the chunk's fingerprints matched."""


def keyed_digest(salt: bytes, digest: str) -> str:
    """What an index stores for the SHA-256 of a redacted value: HMAC-SHA256 keyed with the index's random salt."""
    return hmac.new(salt, digest.encode("ascii"), hashlib.sha256).hexdigest()


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("copilot_index.indexer") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _rebuild_hint(path: Path) -> str:
    return f"run `copilot-index index --rebuild` to recreate {path}"


def storage_error(exc: Exception, path: Path) -> CopilotIndexError:
    """One sentence for a database failure: what happened to the file at `path`, and what to do."""
    text = str(exc).lower()
    if isinstance(exc, PermissionError) or any(w in text for w in ("readonly", "read-only", "permission",
                                                                    "unable to open")):
        return IndexAccessError(f"The index in {path.parent} cannot be written ({exc}); check the folder's "
                                "permissions, or pass --data-dir DIR to keep the index elsewhere.")
    if "disk is full" in text or "no space" in text:
        return IndexAccessError(f"The disk holding {path.parent} is full; free some space and run the command "
                                "again (the index is as it was before this run).")
    return IndexCorruptError(f"The index database is corrupt or unreadable ({exc}); {_rebuild_hint(path)}.")


class ChunkStore:
    """Files, chunks, vectors and keyword rows of one repository's index."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._dimension: int | None = None
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlean.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
            self.conn.enable_load_extension(True)
            sqlite_vec.load(self.conn)
            self.conn.enable_load_extension(False)
            self._check_identity()
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._salt = self._digest_salt()
        except (sqlean.DatabaseError, OSError) as exc:
            raise storage_error(exc, path) from exc
        dim = self.get_meta("embedder_dimension")
        self._dimension = int(dim) if dim else None

    # -- setup -----------------------------------------------------------------------------------

    def _check_identity(self) -> None:
        # One statement, so both values come from the same snapshot (another process may be creating it).
        app_id, tables = self.conn.execute(
            "SELECT (SELECT application_id FROM pragma_application_id), (SELECT count(*) FROM sqlite_master)"
        ).fetchone()
        if app_id != APPLICATION_ID and tables:
            raise IndexCorruptError(
                f"{self.path} is not a copilot-index database (it belongs to another program); {_rebuild_hint(self.path)}."
            )

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        known = max(number for number, _ in _migrations())
        if version > known:
            raise IndexCorruptError(
                f"{self.path} was written by a newer copilot-index (schema {version}; this one knows up to {known}); "
                "upgrade copilot-index, or run `copilot-index index --rebuild` to recreate it."
            )
        for number, sql in _migrations():
            if number <= version:
                continue
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                # Another connection may have migrated while we waited for the write lock.
                if self.conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                    self.conn.execute("COMMIT")
                    continue
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {int(number)}")
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(number),))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _digest_salt(self) -> bytes:
        """The index's random salt for digests of redacted values: made once, and digests an older version
        kept unsalted are re-keyed with it in the same transaction."""
        salt = self.get_meta(DIGEST_SALT)
        if salt is None:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                salt = self.get_meta(DIGEST_SALT)  # another connection may have made it while we waited
                if salt is None:
                    salt = secrets.token_hex(32)
                    self.set_meta(DIGEST_SALT, salt)
                    old = [r[0] for r in self.conn.execute("SELECT digest FROM redacted_digests")]
                    self.conn.execute("DELETE FROM redacted_digests")
                    self.conn.executemany("INSERT OR IGNORE INTO redacted_digests(digest) VALUES (?)",
                                          [(keyed_digest(bytes.fromhex(salt), d),) for d in old])
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return bytes.fromhex(salt)

    def ensure_embedder(self, embedder_id: str, dimension: int) -> None:
        """Record the embedder on first use; refuse a different one (its vectors would not compare)."""
        stored = self.get_meta("embedder")
        if stored is None:
            with self.transaction():
                self.set_meta("embedder", embedder_id)
                self.set_meta("embedder_dimension", str(dimension))
                self._create_vector_tables(dimension)
            self._dimension = dimension
            return
        if stored != embedder_id or self._dimension != dimension:
            raise EmbedderMismatchError(
                f"The index was built with embedder '{stored}' but '{embedder_id}' is configured; "
                "run `copilot-index index --rebuild` to re-embed with it."
            )

    def _create_vector_tables(self, dimension: int) -> None:
        dim = int(dimension)  # DDL cannot take bound parameters; this is our own integer
        self.conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vectors USING vec0(embedding float[{dim}] distance_metric=cosine)"
        )

    @property
    def dimension(self) -> int | None:
        return self._dimension

    # -- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- reads -----------------------------------------------------------------------------------

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

    def count(self, table: str) -> int:
        assert table in {"files", "chunks", "embedding_cache", "redacted_digests", "chunk_fingerprints"}
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

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
            (name, "%." + _like_escape(name), name, "%." + _like_escape(name), limit * 4),
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

    # -- staged vectors (re-embedding: new vectors staged while searches use the old ones) ------------

    def begin_staging(self) -> None:
        """Start a connection-private TEMP table for new vectors; the index keeps answering with the old ones."""
        self.conn.execute("DROP TABLE IF EXISTS temp.staged_vectors")
        self.conn.execute("CREATE TEMP TABLE staged_vectors(chunk_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")

    def stage_vectors(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """Stage new vectors (chunk id, float32 blob) in one short transaction."""
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO temp.staged_vectors(chunk_id, embedding) VALUES (?, ?)", rows)
        self.conn.execute("COMMIT")

    def swap_staged_vectors(self, embedder_id: str, dimension: int) -> bool:
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
        finally:
            self.conn.execute("DROP TABLE IF EXISTS temp.staged_vectors")
        return True

    # -- writes (call inside transaction()) -------------------------------------------------------

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
            self.conn.execute(
                "INSERT INTO chunks_fts(rowid, symbol, path, body) VALUES (?, ?, ?, ?)",
                (chunk_id, keyword_text(chunk.symbol), path_words, keyword_text(chunk.context + "\n" + chunk.text)),
            )
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

    def check_integrity(self) -> None:
        """Refuse to write to a damaged file: `PRAGMA quick_check` (a scan of every page, without the slower
        index-content checks of `integrity_check`)."""
        problems = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            first = " ".join(problems[0].replace("*** in database main ***", "").split())
            raise IndexCorruptError(f"The index database {self.path} is damaged ({first[:120]}); "
                                    f"{_rebuild_hint(self.path)}.")

    def detach_journal(self) -> None:
        """Fold the WAL into the database file and leave WAL mode, so that the file can be moved on its own."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("PRAGMA journal_mode=DELETE")

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    def __init__(self, conn: sqlean.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlean.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no semicolons inside literals)."""
    body = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def vector_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def sign_bits(blob: bytes) -> bytes:
    """One bit per dimension (set where the component is positive), packed big-endian per byte."""
    return np.packbits(np.frombuffer(blob, dtype=np.float32) > 0).tobytes()

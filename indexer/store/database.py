"""The SQLite file under the index: opening it (sqlean + sqlite-vec), telling it is ours, numbered migrations, the
per-index salt, meta rows, transactions and integrity. `ChunkStore` (in `__init__`) adds the reads and writes.

WAL mode lets searches run while an indexer writes. Every file is written in one transaction together with its
chunks, vectors and keyword rows, so a kill at any moment leaves each file either fully old or fully new.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import sqlean
import sqlite_vec

from ..errors import CopilotIndexError, EmbedderMismatchError, IndexAccessError, IndexCorruptError

log = logging.getLogger(__name__)


APPLICATION_ID = 0x43504958  # "CPIX": marks the file as a copilot-index database
DB_NAME = "index.db"
DIGEST_SALT = "digest_salt"
"""Meta key of the index's random salt for the digests of redacted values."""
EMBEDDER_WEIGHTS = "embedder_weights"
"""Meta key: digest of the weights that made the vectors (`embedder.weights_digest`), for local models."""
LOCK_WAIT_S = 30.0
"""How long a command waits for another one's lock on the index file."""
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
    if "locked" in text:
        return IndexAccessError(f"The index in {path.parent} stayed locked by another copilot-index process for "
                                f"{LOCK_WAIT_S:.0f} s; let it finish, then run the command again.")
    return IndexCorruptError(f"The index database is corrupt or unreadable ({exc}); {_rebuild_hint(path)}.")


class Database:
    """One connection to an index file, checked, migrated and salted."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._dimension: int | None = None
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlean.connect(str(path), timeout=LOCK_WAIT_S, isolation_level=None, check_same_thread=False)
            self.conn.enable_load_extension(True)
            sqlite_vec.load(self.conn)
            self.conn.enable_load_extension(False)
            self._check_identity()
            self._use_wal()
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._salt = self._digest_salt()
        except (sqlean.DatabaseError, OSError) as exc:
            raise storage_error(exc, path) from exc
        dim = self.get_meta("embedder_dimension")
        self._dimension = int(dim) if dim else None

    def _use_wal(self) -> None:
        """Switch to WAL. SQLite answers "database is locked" at once, without waiting, while another process
        holds the file in its first, rollback-journal transaction (two commands creating one index): retry then."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlean.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

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

    def ensure_embedder(self, embedder_id: str, dimension: int, weights: str | None = None) -> None:
        """Record the embedder (and the digest of its weights) on first use; refuse a different one (its vectors
        would not compare)."""
        stored = self.get_meta("embedder")
        if stored is None:
            with self.transaction():
                self.set_meta("embedder", embedder_id)
                self.set_meta("embedder_dimension", str(dimension))
                if weights is not None:
                    self.set_meta(EMBEDDER_WEIGHTS, weights)
                self._create_vector_tables(dimension)
            self._dimension = dimension
            return
        if stored != embedder_id or self._dimension != dimension:
            raise EmbedderMismatchError(
                f"The index was built with embedder '{stored}' but '{embedder_id}' is configured; "
                "run `copilot-index index --rebuild` to re-embed with it."
            )

    def check_embedder_weights(self, weights: str | None, adopt: bool = True) -> None:
        """Refuse an embedder whose weights differ from those that made the index's vectors (same name, new
        weights). An index recorded before weights were (`adopt`) takes the current ones as its own."""
        if weights is None:
            return
        stored = self.get_meta(EMBEDDER_WEIGHTS)
        if stored is None:
            if adopt and self.get_meta("embedder") is not None:
                with self.transaction():
                    self.set_meta(EMBEDDER_WEIGHTS, weights)
            return
        if stored != weights:
            raise EmbedderMismatchError(
                f"The index was built with other weights of embedder '{self.get_meta('embedder')}' (it was updated "
                "since); run `copilot-index index --rebuild` to re-embed with the new ones."
            )

    def _create_vector_tables(self, dimension: int) -> None:
        dim = int(dimension)  # DDL cannot take bound parameters; this is our own integer
        self.conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vectors USING vec0(embedding float[{dim}] distance_metric=cosine)"
        )

    @property
    def dimension(self) -> int | None:
        return self._dimension

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def count(self, table: str) -> int:
        assert table in {"files", "chunks", "embedding_cache", "redacted_digests", "chunk_fingerprints"}
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

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


def like_escape(text: str) -> str:
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

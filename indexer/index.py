"""`Index`: the indexer's front door. One repository's index, opened once and used for everything:
bringing it up to date, searching it, reporting its status, taking the writer lock, swapping its vectors,
and answering the guards' questions (licence fingerprints, redacted-secret digests).

Searches, guard reads and `close` are serialized on one lock, so closing (after a reconfiguration or a
rebuild) waits for a query in flight instead of closing the connection under it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .active_embedder import active_dense_weight, active_embedder_id
from .config import IndexConfig
from .datadir import DataDir
from .errors import NoIndexError
from .lock import IndexLock
from .repo import RepoInfo, resolve_repo

if TYPE_CHECKING:
    from .embedder import Embedder
    from .pipeline import IndexSummary
    from .reembed import ReembedSummary
    from .search import HybridSearch, Mode, SearchResult
    from .status import IndexStatus
    from .store import ChunkStore, FingerprintHit

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]


class Index:
    """The index of one repository: `Index.open(path)` finds the repository, its data directory and settings."""

    def __init__(self, repo: RepoInfo, data_dir: DataDir | None = None, config: IndexConfig | None = None) -> None:
        self.repo = repo
        self.data_dir = data_dir or DataDir.for_repo(repo)
        self.config = config or IndexConfig.load(repo.root)
        self._store: ChunkStore | None = None
        self._search: HybridSearch | None = None
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls, path: str | Path | None = None, *, data_dir: str | Path | None = None, config: IndexConfig | None = None
    ) -> Index:
        """The index of the repository holding `path` (default: the current folder); `data_dir` overrides where
        it lives (`--data-dir`)."""
        repo = resolve_repo(path)
        return cls(repo, DataDir.for_repo(repo, data_dir), config)

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def exists(self) -> bool:
        return self.data_dir.database.is_file()

    def embedder_id(self) -> str:
        """The embedder new vectors are made with: a promoted trained one, else the configured one."""
        return active_embedder_id(self.data_dir, self.config.embedder)

    # -- writing -------------------------------------------------------------------------------------------

    def update(
        self,
        *,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
        lock_wait_seconds: float = 0.0,
        embedder: Embedder | None = None,
        should_stop: Callable[[], bool] | None = None,
        check_integrity: bool = True,
    ) -> IndexSummary:
        """Bring the index up to date with the working tree (incrementally, or from scratch with `rebuild`).
        `should_stop` is asked before each file; `check_integrity` scans the database before writing to it."""
        from .pipeline import Indexer

        indexer = Indexer(self.repo, self.data_dir, self.config, embedder=embedder, progress=progress,
                          lock_wait_seconds=lock_wait_seconds, should_stop=should_stop,
                          check_integrity=check_integrity)
        summary = indexer.run(rebuild=rebuild)
        if rebuild:
            self.reopen()  # the old database file was replaced
        return summary

    def writer_lock(self, wait_seconds: float = 0.0) -> IndexLock:
        """The lock every writer of this index holds (use as a context manager)."""
        return IndexLock(self.data_dir.lock, wait_seconds=wait_seconds)

    def swap_vectors(
        self, embedder: Embedder, progress: ProgressCallback | None = None, lock_wait_seconds: float = 0.0
    ) -> ReembedSummary:
        """Re-embed every chunk with `embedder`; searches use the old vectors until one transaction swaps them."""
        from .reembed import reembed
        from .store import ChunkStore

        self._require()
        with self.writer_lock(lock_wait_seconds):
            store = ChunkStore(self.data_dir.database, create=False)
            try:
                summary = reembed(store, embedder, progress or (lambda description, done, total: None))
            finally:
                store.close()
        self.reopen()  # the open search embeds queries with the old model
        return summary

    # -- reading -------------------------------------------------------------------------------------------

    def _require(self) -> None:
        if not self.exists:
            raise NoIndexError(f"There is no index for {self.root} yet; run `copilot-index index {self.root}` first.")

    def _open_store(self) -> ChunkStore:
        with self._lock:
            if self._store is None:
                from .store import ChunkStore

                self._require()
                self._store = ChunkStore(self.data_dir.database, create=False)
            return self._store

    def searcher(self) -> HybridSearch:
        """The hybrid search over this index, with the embedder that made its vectors (NoIndexError without one)."""
        with self._lock:
            if self._search is None:
                from .embedder import embedder_for, weights_digest
                from .search import HybridSearch

                store = self._open_store()
                embedder = embedder_for(store.get_meta("embedder") or self.config.embedder, self.config)
                store.check_embedder_weights(weights_digest(embedder.model_id), adopt=False)
                self._search = HybridSearch(store, embedder, self.config)
                self._search.dense_weight = self.dense_weight
            return self._search

    def search(
        self, query: str, k: int = 10, mode: Mode = "hybrid", language: str | None = None, path_glob: str | None = None,
        exclude_path: str | None = None,
    ) -> list[SearchResult]:
        with self._lock:
            return self.searcher().query(query, k, mode, language, path_glob, exclude_path)

    def find_symbols(self, name: str, limit: int = 50) -> list[SearchResult]:
        """Definitions named `name` exactly (also as the last part of `Class.method`), available as soon as their
        file is written, before any vector search would rank them."""
        from .search import SearchResult

        with self._lock:
            rows = self._open_store().chunks_named(name, limit)
        return [SearchResult(path, start, end, symbol, kind, language, 1.0, text)
                for path, start, end, symbol, kind, language, text in rows]

    def query_embedding(self, text: str) -> np.ndarray:
        """The query's embedding as dense search computes it."""
        with self._lock:
            return self.searcher().query_embedding(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the index's own embedder (to compare them with its chunks)."""
        return self.searcher().embedder.embed(texts)

    @property
    def dense_weight(self) -> float:
        """The fusion weight: `index.dense_weight` where a setting gives it, else the one `train-embeddings` chose
        for the active trained embedder, else the default."""
        if "dense_weight" not in self.config.given:
            chosen = active_dense_weight(self.data_dir, self.config.embedder)
            if chosen is not None:
                return chosen
        return self.config.dense_weight

    def status(self) -> IndexStatus:
        from .status import build_status

        with self._lock:
            return build_status(self.repo, self.data_dir, self._open_store(), self.config)

    # -- what the guards ask -----------------------------------------------------------------------------

    def fingerprint_matches(self, hashes: Iterable[int], limit: int = 5) -> list[FingerprintHit]:
        """Indexed chunks sharing winnowing fingerprints with a text, most shared first."""
        with self._lock:
            return self._open_store().fingerprint_matches(hashes, limit)

    def chunks_near(self, path: str, first_line: int, last_line: int) -> list[tuple[int, int, str]]:
        with self._lock:
            return self._open_store().chunks_near(path, first_line, last_line)

    def known_digests(self, digests: Iterable[str]) -> set[str]:
        """Those of these digests that belong to a value the indexer redacted."""
        with self._lock:
            return self._open_store().known_digests(digests)

    def file_license(self, path: str) -> str | None:
        with self._lock:
            return self._open_store().file_license(path)

    # -- lifetime ------------------------------------------------------------------------------------------

    def reopen(self) -> None:
        """Forget the open connection (after a rebuild or a vector swap); the next read opens the new state.
        Waits for a read in flight."""
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store, self._search = None, None

    def close(self) -> None:
        self.reopen()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Indexer: scan -> read -> redact -> chunk -> embed (new chunk hashes only) -> store, incrementally."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlean

from .active_embedder import active_embedder_id
from .chunker import CHUNKING_VERSION, Chunk, Chunker
from .config import IndexConfig
from .datadir import DataDir, sqlite_files
from .embedder import Embedder, embedder_for, weights_digest
from .errors import EmbedderMismatchError
from .languages import is_prose, language_for_path
from .licenses import LicenseDetector
from .lock import IndexLock
from .redact import Redactor
from .repo import RepoInfo
from .scanner import FileEntry, Scanner, read_source
from .status import rechunk_pending, record_skipped
from .store import ChunkStore, StoredFile, storage_error, vector_blob

log = logging.getLogger(__name__)

EMBED_BATCH_CHUNKS = 256
"""Chunks embedded (and files written, in one transaction) per step."""

ProgressCallback = Callable[[str, int, int], None]
"""Called as (description, done, total)."""


@dataclass
class IndexSummary:
    """What one run did; the first seven fields are the `--json` contract."""

    files_scanned: int = 0
    files_changed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0
    commit: str | None = None
    files_renamed: int = 0
    files_skipped: int = 0
    secrets_redacted: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False
    """The run was asked to stop before it finished (the files it wrote are complete)."""

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("skipped")
        data.pop("stopped")
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass
class _Pending:
    stored: StoredFile
    language: str
    chunks: list[Chunk]
    redactions: int
    digests: set[str]
    license: str | None = None


def swap_in(built: Path, data_dir: DataDir) -> None:
    """Replace the index with the database at `built` (complete, closed, in rollback-journal mode) in one
    rename. The old database's WAL files go first: a WAL left beside the new file would be replayed into it."""
    for leftover in data_dir.database_files()[1:]:
        leftover.unlink(missing_ok=True)
    os.replace(built, data_dir.database)


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class Indexer:
    """Brings one repository's index up to date with its working tree."""

    def __init__(
        self,
        repo: RepoInfo,
        data_dir: DataDir,
        config: IndexConfig | None = None,
        embedder: Embedder | None = None,
        progress: ProgressCallback | None = None,
        lock_wait_seconds: float = 0.0,
        should_stop: Callable[[], bool] | None = None,
        check_integrity: bool = True,
    ) -> None:
        self.repo = repo
        self.data_dir = data_dir
        self.config = config or IndexConfig.load(repo.root)
        self.embedder = embedder or embedder_for(active_embedder_id(data_dir, self.config.embedder), self.config)
        self.progress = progress or (lambda description, done, total: None)
        self.lock_wait_seconds = lock_wait_seconds
        self.check_integrity = check_integrity
        """Check every page of the database before writing (a scan; the language server does it once per session)."""
        self.should_stop = should_stop or (lambda: False)
        """Checked before each file: when it says so, the run writes what it has and ends (`summary.stopped`)."""
        self.chunker = Chunker(window_lines=self.config.window_lines, window_overlap=self.config.window_overlap)
        self.redactor = Redactor()
        self.licenses = LicenseDetector(repo.root)

    def run(self, rebuild: bool = False) -> IndexSummary:
        """Bring the index up to date. `rebuild` builds a new index beside the old one and swaps it in when it
        is complete, so a rebuild that is killed or fails leaves the old index as it was."""
        started = time.monotonic()
        with IndexLock(self.data_dir.lock, wait_seconds=self.lock_wait_seconds):
            path = self.data_dir.staging_database() if rebuild else self.data_dir.database
            staging = sqlite_files(path)
            if rebuild:
                remove_files(staging)  # a killed rebuild's leftovers
            store = ChunkStore(path)
            try:
                if self.check_integrity:
                    store.check_integrity()
                summary = self._run(store)
                if rebuild:
                    store.detach_journal()
            except BaseException as exc:
                store.close()
                if rebuild:
                    remove_files(staging)
                if isinstance(exc, sqlean.DatabaseError | OSError) and not isinstance(exc, FileNotFoundError):
                    raise storage_error(exc, path) from exc
                raise
            store.close()
            if rebuild and summary.stopped:
                remove_files(staging)  # an incomplete rebuild never replaces the index
            elif rebuild:
                swap_in(path, self.data_dir)
        summary.seconds = time.monotonic() - started
        return summary

    def _prepare_embedder(self, store: ChunkStore) -> None:
        stored = store.get_meta("embedder")
        if stored is not None and stored != self.embedder.model_id:
            raise EmbedderMismatchError(
                f"The index was built with embedder '{stored}' but '{self.embedder.model_id}' is configured; "
                "run `copilot-index index --rebuild` to re-embed with it."
            )
        weights = weights_digest(self.embedder.model_id)
        if stored is None:
            store.ensure_embedder(self.embedder.model_id, self.embedder.dimension, weights)
        store.check_embedder_weights(weights)

    def _run(self, store: ChunkStore) -> IndexSummary:
        self._prepare_embedder(store)
        with store.transaction():
            store.backfill_guard_data(self.licenses.detect)
        summary = IndexSummary(commit=self.repo.head_commit())
        scan = Scanner(self.repo, self.config).scan()
        summary.files_scanned = len(scan.files)
        summary.skipped = list(scan.skipped)
        known = store.files()
        current = {entry.path for entry in scan.files}
        if not known:  # whatever this run writes, this version chunks it (a killed first run resumes as such)
            with store.transaction():
                store.set_meta("chunking", CHUNKING_VERSION)
        rechunk = rechunk_pending(store, known)
        if rechunk:
            log.info("the index was chunked by an earlier version; every file is chunked again (vectors are reused)")
        recheck = scan.ignore_digest != store.get_meta("ignore_digest")  # large files a `!path` may decide
        candidates = [
            e for e in scan.files
            if rechunk or (old := known.get(e.path)) is None or (old.size, old.mtime_ns) != (e.size, e.mtime_ns)
            or (recheck and e.size > self.config.max_data_file_bytes)
        ]
        gone = sorted(set(known) - current)
        summary.files_renamed = self._count_renames(store)

        pending: list[_Pending] = []
        pending_chunks = 0
        total = len(candidates)
        self.progress("Indexing", 0, total)
        for done, entry in enumerate(candidates, 1):
            if self.should_stop():
                summary.stopped = True
                break
            item = self._prepare(entry, known.get(entry.path), store, summary, rechunk)
            if item is not None:
                pending.append(item)
                pending_chunks += len(item.chunks)
            if pending_chunks >= EMBED_BATCH_CHUNKS:
                self._flush(store, pending, summary)
                pending, pending_chunks = [], 0
            self.progress("Indexing", done, total)
        self._flush(store, pending, summary)
        if summary.stopped:
            summary.files_skipped = len(summary.skipped)
            return summary  # the next run goes on from here; the indexed commit is not recorded yet

        with store.transaction():
            for path in gone:
                summary.chunks_deleted += store.delete_file(path)
            summary.files_changed += len(gone)
            if summary.commit:
                store.set_meta("commit", summary.commit)
            store.set_meta("indexed_at", str(int(time.time())))
            store.set_meta("chunking", CHUNKING_VERSION)
            store.set_meta("ignore_digest", scan.ignore_digest)
            record_skipped(store, {entry.path: entry for entry in scan.files}, summary.skipped)
            store.prune_cache()
            if stale := store.rebuild_stale_keywords():
                log.info("rebuilt the keyword index: %d deleted rows skewed its bm25 statistics", stale)
        summary.files_skipped = len(summary.skipped)
        return summary

    def _prepare(
        self, entry: FileEntry, old: StoredFile | None, store: ChunkStore, summary: IndexSummary, rechunk: bool = False
    ) -> _Pending | None:
        full = self.repo.root / entry.path
        language = language_for_path(entry.path)
        try:
            read = read_source(full, self.config, entry.data_allowed, is_prose(language))
        except OSError:
            log.info("%s vanished while indexing; it will be dropped from the index", entry.path)
            read = "vanished while indexing"
        if isinstance(read, str):
            summary.skipped.append((entry.path, read))
            if old is not None:
                with store.transaction():
                    summary.chunks_deleted += store.delete_file(entry.path)
                summary.files_changed += 1
            return None
        raw, text = read
        stored = StoredFile(entry.path, hashlib.sha256(raw).hexdigest(), entry.size, entry.mtime_ns)
        if old is not None and old.content_hash == stored.content_hash and not rechunk:
            with store.transaction():
                store.touch_file(stored)
            return None
        redaction = self.redactor.redact(text, entry.path)
        summary.secrets_redacted += redaction.count
        chunks = self.chunker.chunk(entry.path, redaction.text)
        summary.files_changed += 1
        license = self.licenses.detect(entry.path, text)
        return _Pending(stored, language or "text", chunks, redaction.count, redaction.digests, license)

    def _flush(self, store: ChunkStore, pending: list[_Pending], summary: IndexSummary) -> None:
        if not pending:
            return
        hashes = [c.content_hash for item in pending for c in item.chunks]
        vectors = store.live_vectors(hashes)
        to_embed: dict[str, str] = {}
        for item in pending:
            for chunk in item.chunks:
                if chunk.content_hash not in vectors:
                    to_embed.setdefault(chunk.content_hash, chunk.embedding_text())
        if to_embed:
            embedded = self.embedder.embed(list(to_embed.values()))
            for h, vector in zip(to_embed, embedded, strict=True):
                vectors[h] = vector_blob(vector)
        summary.chunks_embedded += len(to_embed)
        summary.chunks_reused += len(hashes) - len(to_embed)
        with store.transaction():
            for item in pending:
                old_hashes = store.chunk_hashes(item.stored.path)
                new_hashes = {c.content_hash for c in item.chunks}
                summary.chunks_deleted += sum(1 for h in old_hashes if h not in new_hashes)
                store.write_file(
                    item.stored,
                    item.language,
                    item.chunks,
                    [vectors[c.content_hash] for c in item.chunks],
                    item.redactions,
                    item.digests,
                    item.license,
                )

    def _count_renames(self, store: ChunkStore) -> int:
        """Renames between the indexed commit and HEAD, as git reports them (-M), for the summary."""
        old, new = store.get_meta("commit"), self.repo.head_commit()
        if not (self.repo.is_git and old and new) or old == new:
            return 0
        try:
            status = self.repo.open_git().git.diff("--name-status", "-M", old, new)
        except Exception as exc:  # the old commit may be gone (rebased away, gc'd)
            log.info("could not diff %s..%s: %s", old[:12], new[:12], exc)
            return 0
        renames = [line for line in status.splitlines() if line.startswith("R")]
        for line in renames:
            log.info("renamed: %s", line.split("\t", 1)[-1].replace("\t", " -> "))
        return len(renames)

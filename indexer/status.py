"""What the index holds and what has changed in the working tree since it was built."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from .chunker import CHUNKING_VERSION
from .config import IndexConfig
from .datadir import DataDir
from .repo import RepoInfo
from .scanner import FileEntry, Scanner
from .store import ChunkStore


@dataclass
class IndexStatus:
    root: str
    data_dir: str
    files: int
    chunks: int
    chunks_per_language: dict[str, int]
    embedder: str | None
    embedder_dimension: int | None
    commit: str | None
    head: str | None
    pending_new: int
    pending_modified: int
    pending_deleted: int
    database_bytes: int
    secrets_redacted: int
    cached_vectors: int
    warnings: list[str] = field(default_factory=list)
    files_skipped: int = 0
    """Files of the tree the last index read and skipped (minified, data, build output), unchanged since."""

    @property
    def pending(self) -> int:
        return self.pending_new + self.pending_modified + self.pending_deleted

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["pending"] = self.pending
        return data


SKIPPED_META = "skipped_files"
"""Meta key: {path: [size, mtime_ns]} of the files the last complete index read and skipped."""


def record_skipped(store: ChunkStore, entries: Mapping[str, FileEntry], skipped: Iterable[tuple[str, str]]) -> None:
    """Remember which files of the tree a complete run read and skipped, as it saw them: `status` does not count
    them as new while they stay so (the next run reads them again, and skips them again)."""
    record = {path: [entries[path].size, entries[path].mtime_ns] for path, _ in skipped if path in entries}
    store.set_meta(SKIPPED_META, json.dumps(record, sort_keys=True))


def _skipped_record(store: ChunkStore) -> dict[str, list[int]]:
    try:
        record = json.loads(store.get_meta(SKIPPED_META) or "{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def rechunk_pending(store: ChunkStore, known: Mapping[str, object]) -> bool:
    """Whether the index holds files chunked by another `CHUNKING_VERSION`: its next update chunks every file."""
    return bool(known) and store.get_meta("chunking") != CHUNKING_VERSION


def build_status(repo: RepoInfo, data_dir: DataDir, store: ChunkStore, config: IndexConfig) -> IndexStatus:
    """What `store` holds, and how the working tree has moved on since it was indexed."""
    known = store.files()
    scan = Scanner(repo, config).scan()
    current = {e.path: e for e in scan.files}
    recorded = _skipped_record(store)
    skipped = {p for p, e in current.items() if p not in known and recorded.get(p) == [e.size, e.mtime_ns]}
    new = sum(1 for p in current if p not in known and p not in skipped)
    rechunk = rechunk_pending(store, known)
    modified = sum(
        1 for p, e in current.items()
        if p in known and (rechunk or (known[p].size, known[p].mtime_ns) != (e.size, e.mtime_ns))
    )
    deleted = sum(1 for p in known if p not in current)
    dim = store.get_meta("embedder_dimension")
    return IndexStatus(
        root=str(repo.root),
        data_dir=str(data_dir.root),
        files=store.count("files"),
        chunks=store.count("chunks"),
        chunks_per_language=store.chunks_per_language(),
        embedder=store.get_meta("embedder"),
        embedder_dimension=int(dim) if dim else None,
        commit=store.get_meta("commit"),
        head=repo.head_commit(),
        pending_new=new,
        pending_modified=modified,
        pending_deleted=deleted,
        database_bytes=sum(f.stat().st_size for f in data_dir.database_files() if f.is_file()),
        secrets_redacted=store.redactions_total(),
        cached_vectors=store.count("embedding_cache"),
        warnings=list(config.warnings),
        files_skipped=len(skipped),
    )

"""What the index holds and what has changed in the working tree since it was built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from .chunker import CHUNKING_VERSION
from .config import IndexConfig
from .datadir import DataDir
from .repo import RepoInfo
from .scanner import Scanner
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

    @property
    def pending(self) -> int:
        return self.pending_new + self.pending_modified + self.pending_deleted

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["pending"] = self.pending
        return data


def rechunk_pending(store: ChunkStore, known: Mapping[str, object]) -> bool:
    """Whether the index holds files chunked by another `CHUNKING_VERSION`: its next update chunks every file."""
    return bool(known) and store.get_meta("chunking") != CHUNKING_VERSION


def build_status(repo: RepoInfo, data_dir: DataDir, store: ChunkStore, config: IndexConfig) -> IndexStatus:
    """What `store` holds, and how the working tree has moved on since it was indexed."""
    known = store.files()
    scan = Scanner(repo, config).scan()
    current = {e.path: e for e in scan.files}
    new = sum(1 for p in current if p not in known)
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
    )

"""What the index holds and what has changed in the working tree since it was built."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .config import IndexConfig
from .errors import NoIndexError
from .repo import RepoInfo
from .scanner import Scanner
from .store import DB_NAME, ChunkStore


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


def open_existing_store(data_dir: Path, root: Path) -> ChunkStore:
    """Open an index that must already exist (search, status)."""
    db = data_dir / DB_NAME
    if not db.is_file():
        raise NoIndexError(f"There is no index for {root} yet; run `copilot-index index {root}` first.")
    return ChunkStore(db, create=False)


def index_status(repo: RepoInfo, data_dir: Path, config: IndexConfig | None = None) -> IndexStatus:
    config = config or IndexConfig.load(repo.root)
    store = open_existing_store(data_dir, repo.root)
    try:
        known = store.files()
        scan = Scanner(repo, config).scan()
        current = {e.path: e for e in scan.files}
        new = sum(1 for p in current if p not in known)
        modified = sum(
            1 for p, e in current.items() if p in known and (known[p].size, known[p].mtime_ns) != (e.size, e.mtime_ns)
        )
        deleted = sum(1 for p in known if p not in current)
        redacted = store.conn.execute("SELECT coalesce(sum(redactions), 0) FROM files").fetchone()[0]
        db_bytes = sum(
            f.stat().st_size for f in data_dir.iterdir() if f.name.startswith(DB_NAME) and f.is_file()
        )
        dim = store.get_meta("embedder_dimension")
        return IndexStatus(
            root=str(repo.root),
            data_dir=str(data_dir),
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
            database_bytes=db_bytes,
            secrets_redacted=int(redacted),
            cached_vectors=store.count("embedding_cache"),
            warnings=list(config.warnings),
        )
    finally:
        store.close()

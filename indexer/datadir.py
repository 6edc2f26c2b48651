"""Every file copilot-index keeps, named in one place.

Per repository, everything lives in one data directory outside the working tree (so it can never be
committed): `<git-dir>/copilot-index/` for a git repository, a per-user folder for a plain folder,
`$COPILOT_INDEX_HOME/<name>-<hash>/` when that is set, or the folder `--data-dir` names. Per user, ONNX
exports of embedders are shared by every repository (`user_cache`), and settings and trust decisions
live in the user's config folder (`user_config`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .repo import RepoInfo

DATA_DIR_NAME = "copilot-index"
HOME_ENV = "COPILOT_INDEX_HOME"
CACHE_ENV = "COPILOT_INDEX_CACHE"
CONFIG_ENV = "COPILOT_INDEX_CONFIG_HOME"

DATABASE = "index.db"
DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class DataDir:
    """The data directory of one repository and the name of every file in it."""

    root: Path

    @classmethod
    def for_repo(cls, repo: RepoInfo, override: str | os.PathLike[str] | None = None) -> DataDir:
        """`override` (from `--data-dir`) if given, else `$COPILOT_INDEX_HOME/<name>-<hash>`, else
        `<git-dir>/copilot-index`, else a per-user folder for a plain folder."""
        if override:
            return cls(Path(override).expanduser().resolve())
        digest = hashlib.sha256(str(repo.root).encode()).hexdigest()[:12]
        home = os.environ.get(HOME_ENV)
        if home:
            return cls(Path(home).expanduser() / f"{repo.root.name}-{digest}")
        if repo.git_dir is not None:
            return cls(repo.git_dir / DATA_DIR_NAME)
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        return cls(base / DATA_DIR_NAME / f"{repo.root.name}-{digest}")

    # -- the index ---------------------------------------------------------------------------------------

    @property
    def database(self) -> Path:
        """The SQLite index (WAL mode)."""
        return self.root / DATABASE

    def database_files(self) -> list[Path]:
        """The database and its WAL, shared-memory and rollback journal files."""
        return sqlite_files(self.database)

    def staging_database(self) -> Path:
        """Where `--rebuild` builds a new index beside the old one before swapping it in."""
        return self.root / f"rebuild-{DATABASE}"

    @property
    def lock(self) -> Path:
        """Held by whoever writes the index (flock; the kernel frees it if the holder dies)."""
        return self.root / "index.lock"

    # -- trained artefacts -------------------------------------------------------------------------------

    @property
    def adapters(self) -> Path:
        """LoRA adapters: `v<N>/` folders with a lineage manifest, and `active.json`."""
        return self.root / "adapters"

    @property
    def adapter_work(self) -> Path:
        """The resumable checkpoint of an adapter training run."""
        return self.adapters / "work"

    @property
    def embedders(self) -> Path:
        """Trained embedders: `vNNN/` folders with a lineage manifest, and `active.json`."""
        return self.root / "embedders"

    @property
    def active_embedder(self) -> Path:
        return self.embedders / "active.json"

    # -- records -----------------------------------------------------------------------------------------

    @property
    def audit_log(self) -> Path:
        """One JSON line per guard decision (digests, never suggestion text)."""
        return self.root / "audit.jsonl"

    @property
    def learned_conventions(self) -> Path:
        """The naming and licence conventions mined from the repository (a cache)."""
        return self.root / "conventions.json"


def sqlite_files(database: Path) -> list[Path]:
    """A SQLite database file and the WAL, shared-memory and rollback journal files beside it."""
    return [Path(f"{database}{suffix}") for suffix in DATABASE_SUFFIXES]


def user_cache() -> Path:
    """Per-user cache shared by every repository: `$COPILOT_INDEX_CACHE`, else `$XDG_CACHE_HOME/copilot-index`,
    else `~/.cache/copilot-index`."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / DATA_DIR_NAME


def onnx_exports() -> Path:
    """ONNX exports of embedders, keyed by the model's files (one export and speed probe per model)."""
    return user_cache() / "onnx"


def user_config() -> Path:
    """The user's own settings and trust decisions: `$COPILOT_INDEX_CONFIG_HOME`, else
    `$XDG_CONFIG_HOME/copilot-index`, else `~/.config/copilot-index`."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser() / DATA_DIR_NAME

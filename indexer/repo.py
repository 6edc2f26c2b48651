"""Where a repository is, what its HEAD is, and where its index lives."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import git

from .errors import NotARepositoryError

DATA_DIR_NAME = "copilot-index"
HOME_ENV = "COPILOT_INDEX_HOME"


@dataclass(frozen=True)
class RepoInfo:
    """A folder to index: a git working tree, or a plain folder (content hashes only)."""

    root: Path
    """Absolute path of the working tree's top folder."""
    git_dir: Path | None
    """The repository's git directory, or None for a plain folder."""

    @property
    def is_git(self) -> bool:
        return self.git_dir is not None

    def open_git(self) -> git.Repo:
        """Open the repository with GitPython (only for git working trees)."""
        if self.git_dir is None:
            raise NotARepositoryError(f"{self.root} is not a git repository.")
        return git.Repo(self.root)

    def head_commit(self) -> str | None:
        """The commit HEAD points at, or None for a plain folder or a repository with no commits."""
        if self.git_dir is None:
            return None
        try:
            return self.open_git().head.commit.hexsha
        except (ValueError, git.BadName, git.GitCommandError):
            return None

    def default_data_dir(self) -> Path:
        """`<git-dir>/copilot-index`, or a per-user folder for plain folders; COPILOT_INDEX_HOME overrides."""
        home = os.environ.get(HOME_ENV)
        if home:
            digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
            return Path(home).expanduser() / f"{self.root.name}-{digest}"
        if self.git_dir is not None:
            return self.git_dir / DATA_DIR_NAME
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return base / DATA_DIR_NAME / f"{self.root.name}-{digest}"


def resolve_repo(path: str | os.PathLike[str] | None = None) -> RepoInfo:
    """Find the working tree containing `path` (default: the current folder)."""
    start = Path(path or ".").expanduser()
    if not start.exists():
        raise NotARepositoryError(f"{start} does not exist; pass the folder of a repository to index.")
    if not start.is_dir():
        raise NotARepositoryError(f"{start} is not a folder; pass the folder of a repository to index.")
    start = start.resolve()
    try:
        repo = git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return RepoInfo(root=start, git_dir=None)
    if repo.bare or repo.working_tree_dir is None:
        raise NotARepositoryError(f"{start} is a bare git repository; index a working tree instead.")
    return RepoInfo(root=Path(repo.working_tree_dir).resolve(), git_dir=Path(repo.git_dir).resolve())

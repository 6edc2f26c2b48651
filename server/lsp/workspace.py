"""The repositories behind the workspace folders, and which files the server may read.

Only files inside a workspace folder are read. A URI outside every folder, or one that is not a
`file:` URI, is refused with one sentence. Open buffers take precedence over disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import Workspace

from copilot_index.indexer import CopilotIndexError, DataDir, Index, RepoInfo, resolve_repo
from copilot_index.server.settings import SECTIONS, Settings

if TYPE_CHECKING:
    from copilot_index.server.completion.engine import CompletionEngine

log = logging.getLogger(__name__)

MAX_DISK_READ_BYTES = 16 * 1024 * 1024
"""A file on disk larger than this is not read for context."""


class OutsideWorkspaceError(CopilotIndexError):
    """A URI that names no file inside the workspace folders."""


class DocumentUnavailableError(CopilotIndexError):
    """A document that is neither open in the editor nor readable on disk."""


class Project:
    """One repository the editor has open: its index and its completion engine (built on first use, so that
    `initialize` neither loads a model nor imports the libraries behind it). The engine guards every suggestion."""

    def __init__(self, repo: RepoInfo, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.index = Index(repo, DataDir.for_repo(repo), settings.index)
        self.folders: list[Path] = []
        """The workspace folders (inside this repository) whose files may be read."""
        self._engine: CompletionEngine | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, repo: RepoInfo, settings: Settings) -> Project:
        return cls(repo, settings)

    @property
    def engine(self) -> CompletionEngine:
        from copilot_index.server.completion.engine import CompletionEngine  # not under the lock: imports take locks

        with self._lock:
            if self._engine is None:
                settings = self.settings
                self._engine = CompletionEngine.configured(self.index, settings.completion, settings.guards,
                                                           guarded=settings.lsp.guards)
            return self._engine

    @engine.setter
    def engine(self, engine: CompletionEngine) -> None:
        self._engine = engine

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def data_dir(self) -> Path:
        return self.index.data_dir.root

    def relative(self, path: Path) -> str:
        return path.relative_to(self.repo.root).as_posix()

    def uri_for(self, relative_path: str) -> str:
        return from_fs_path(str(self.repo.root / relative_path)) or ""

    def reconfigure(self, settings: Settings) -> None:
        """Take new settings. When what the engine or the index depends on changed, the next completion builds a
        new engine over a new index; the old index closes once a read in flight on it has finished."""
        old = self.settings
        self.settings = settings
        changed = [name for name in SECTIONS if getattr(old, name) != getattr(settings, name)]
        if changed:
            log.info("settings changed for %s: %s", self.root, ", ".join(changed))
        if (settings.completion, settings.index, settings.guards, settings.lsp.guards) == (
                old.completion, old.index, old.guards, old.lsp.guards):
            return
        with self._lock:
            engine, index = self._engine, self.index
            self.index = Index(self.repo, index.data_dir, settings.index)
            self._engine = None
        (engine.close if engine is not None else index.close)()

    def indexed(self) -> None:
        """After an index run: the guards read the updated index (a rebuild's new file is reopened by the index)."""
        with self._lock:
            engine = self._engine
        if engine is not None:
            engine.refresh_guards()

    def reload_model(self) -> None:
        """Drop the engine; the next completion builds a new one (and loads the model and active adapter)."""
        with self._lock:
            self._engine = None

    def close(self) -> None:
        self.index.close()


@dataclass(frozen=True)
class Located:
    """A document inside the workspace: its project, absolute path and repository-relative path."""

    project: Project
    path: Path
    relative: str


class Projects:
    """The projects of the workspace folders, and the checks on every URI the client sends."""

    def __init__(self) -> None:
        self.by_root: dict[Path, Project] = {}
        """Projects by repository root."""
        self.folders: list[Path] = []
        """Resolved workspace folders; only files under them are read."""

    def __iter__(self) -> Iterator[Project]:
        return iter(self.by_root.values())

    def __len__(self) -> int:
        return len(self.by_root)

    def open(self, folders: Iterable[Path], settings_for: Callable[[Path], Settings]) -> list[Project]:
        """Open a project for each folder's repository; `settings_for(root)` builds its settings."""
        opened: list[Project] = []
        for folder in folders:
            try:
                folder = folder.resolve()
                repo = resolve_repo(folder)
            except (OSError, CopilotIndexError) as exc:
                log.warning("workspace folder %s is not used: %s", folder, exc)
                continue
            self.folders.append(folder)
            project = self.by_root.get(repo.root)
            if project is None:
                project = Project.open(repo, settings_for(repo.root))
                self.by_root[repo.root] = project
                opened.append(project)
            project.folders.append(folder)
        return opened

    def remove_folder(self, folder: Path) -> Project | None:
        """Forget a folder; returns its project when no other folder uses it any more (to be closed)."""
        folder = folder.resolve()
        self.folders = [f for f in self.folders if f != folder]
        for root, project in list(self.by_root.items()):
            if folder in project.folders:
                project.folders.remove(folder)
                if not project.folders:
                    del self.by_root[root]
                    return project
        return None

    def first(self) -> Project | None:
        return next(iter(self.by_root.values()), None)

    def for_folder_uri(self, uri: str | None) -> Project:
        """The project of a folder URI given to a command, or the first project when none is given."""
        if uri:
            return self.locate(uri, must_be_file=False).project
        project = self.first()
        if project is None:
            raise OutsideWorkspaceError("No workspace folder is open; open a folder inside a repository first.")
        return project

    def locate(self, uri: str, *, must_be_file: bool = True) -> Located:
        """The project and paths of `uri`; raises OutsideWorkspaceError for anything outside the folders."""
        if not isinstance(uri, str) or not uri.startswith("file:"):
            raise OutsideWorkspaceError(f"{uri!r} is not a file: URI; only files inside the workspace folders are read.")
        fs_path = to_fs_path(uri)
        if not fs_path:
            raise OutsideWorkspaceError(f"{uri} does not name a local file.")
        try:
            path = Path(fs_path).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise OutsideWorkspaceError(f"{uri} cannot be resolved ({exc}).") from exc
        if not any(path == folder or path.is_relative_to(folder) for folder in self.folders):
            raise OutsideWorkspaceError(f"{uri} is outside the workspace folders; the server reads only files inside them.")
        for root, project in self.by_root.items():
            if path == root or path.is_relative_to(root):
                if must_be_file and path == root:
                    break
                return Located(project, path, "." if path == root else project.relative(path))
        raise OutsideWorkspaceError(f"{uri} is not a file inside a workspace repository.")


def document_text(workspace: Workspace, uri: str, located: Located) -> str:
    """The open buffer's text, else the file on disk; raises DocumentUnavailableError when neither exists."""
    document = workspace.text_documents.get(unquote(uri))
    if document is not None:
        return document.source
    try:
        size = located.path.stat().st_size
        if size > MAX_DISK_READ_BYTES:
            raise DocumentUnavailableError(f"{located.relative} is larger than {MAX_DISK_READ_BYTES} bytes; open it first.")
        return located.path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise DocumentUnavailableError(f"{located.relative} is not open and no longer exists on disk.") from exc
    except IsADirectoryError as exc:
        raise DocumentUnavailableError(f"{located.relative} is a folder, not a document.") from exc
    except OSError as exc:
        raise DocumentUnavailableError(f"{located.relative} cannot be read ({exc.strerror or exc}).") from exc


"""The language server object. `factory.create_server()` builds it and registers each feature from its own
module in `features/`. State lives in the typed attributes below, never in module globals. The server is the
`Client` its services talk to: they never see this class.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from copilot_index.server.settings import Settings

from .background import IndexingService
from .progress import ProgressReporter
from .protocol import CopilotProtocol
from .suggestions import SuggestionService
from .warmup import Warmup
from .workspace import Projects

log = logging.getLogger(__name__)

SERVER_NAME = "copilot-lsp"
TRUSTED_OPTION = "trustedWorkspace"
"""`initializationOptions.trustedWorkspace = true`: the editor's user trusts this workspace."""


def _version() -> str:
    try:
        return version("copilot-index")
    except PackageNotFoundError:
        return "0"


class CopilotLanguageServer(LanguageServer):
    """copilot-index's language server: completion, search and background indexing for the workspace."""

    protocol: CopilotProtocol

    def __init__(self) -> None:
        super().__init__(SERVER_NAME, _version(), protocol_cls=CopilotProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.loop: asyncio.AbstractEventLoop | None = None
        """The event loop serving the connection (known from `initialize` on)."""
        self.loop_thread: int | None = None
        self.init_options: Any = None
        """`initializationOptions` as the client sent them."""
        self.client_settings: Any = None
        """The `copilotIndex` section of `workspace/configuration`, when the client has one."""
        self.folder_settings: dict[Path, Any] = {}
        """The same section asked for each repository's folder (`scopeUri`): per-folder settings."""
        self.projects = Projects()
        """The repositories behind the workspace folders."""
        self.warmup = Warmup()
        """The one import of the heavy libraries, started at `initialize`; generation waits for it."""
        self.suggestions = SuggestionService(self, self.projects, lambda: self.workspace, self.warmup.ready)
        """Inline and fallback completion: cancellation, generation, last sources."""
        self.indexing = IndexingService(self, self.warmup.ready)
        """Background indexing per project and HEAD watching."""
        self.told: set[str] = set()
        """Messages already shown to the user (each is shown once)."""

    # -- connection ------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.loop is not None and not self.loop.is_closed()

    def bind_loop(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()

    def notify(self, method: str, params: Any) -> None:
        """Send a notification from any thread (writes to the transport happen on the loop's thread)."""
        if self.loop is None or self.loop.is_closed():
            return
        if threading.get_ident() == self.loop_thread:
            self.protocol.notify(method, params)
        else:
            self.loop.call_soon_threadsafe(self.protocol.notify, method, params)

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show `message` to the user with `window/showMessage`, once per session."""
        if message in self.told:
            return
        self.told.add(message)
        log.debug("told the user: %s", message)
        self.notify(types.WINDOW_SHOW_MESSAGE, types.ShowMessageParams(type=kind, message=message))

    def progress_reporter(self, title: str, *, cancellable: bool = False) -> ProgressReporter:
        """A `$/progress` reporter; silent when the client has no progress UI."""
        return ProgressReporter(self.work_done_progress if self.supports_progress else None, self.notify, title,
                                cancellable=cancellable)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside a request's answer (unparseable input, a crash in a notification handler) are
        logged; the client is not flooded with popups for bad input it sent."""
        log.warning("server error (%s): %s", getattr(source, "__name__", source), error)

    # -- capabilities ----------------------------------------------------------------------------------

    @property
    def supports_progress(self) -> bool:
        window = self.client_capabilities.window if self.protocol.initialized else None
        return bool(window and window.work_done_progress)

    @property
    def supports_configuration(self) -> bool:
        workspace = self.client_capabilities.workspace if self.protocol.initialized else None
        return bool(workspace and workspace.configuration)

    @property
    def supports_watched_files_registration(self) -> bool:
        workspace = self.client_capabilities.workspace if self.protocol.initialized else None
        watched = workspace.did_change_watched_files if workspace else None
        return bool(watched and watched.dynamic_registration)

    # -- settings --------------------------------------------------------------------------------------

    def settings_for(self, root: Path | None) -> Settings:
        """Typed settings for a repository: its config file, then initializationOptions, then the client's
        (global, then for the repository's folder)."""
        folder = self.folder_settings.get(root) if root is not None else None
        # An editor that asked the user to trust the workspace (VS Code's workspace trust, Neovim's
        # vim.secure.read) says so; otherwise the user's `copilot-index trust` decides.
        trusted = True if isinstance(self.init_options, dict) and self.init_options.get(TRUSTED_OPTION) is True else None
        settings = Settings.build(root, ("initializationOptions", self.init_options),
                                  ("workspace/configuration", self.client_settings),
                                  ("workspace/configuration for the folder", folder), trusted=trusted)
        for warning in settings.warnings:
            self.show_once(warning)
        return settings

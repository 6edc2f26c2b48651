"""Session lifecycle: initialize (fast: no model is loaded), initialized (settings from the client,
background indexing, file watching), configuration and workspace-folder changes, shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

if TYPE_CHECKING:
    from ..server import CopilotLanguageServer

log = logging.getLogger(__name__)

CONFIGURATION_SECTION = "copilotIndex"
"""The `workspace/configuration` section the server asks the client for."""
CONFIGURATION_TIMEOUT_SECONDS = 5.0
EXIT_GRACE_SECONDS = 1.0
"""`exit` ends the process within this long, whatever is still running."""
WATCHER_REGISTRATION_ID = "copilot-index-watched-files"


def register(server: CopilotLanguageServer) -> None:
    @server.feature(types.INITIALIZE)
    async def initialize(params: types.InitializeParams) -> None:
        server.bind_loop()
        server.init_options = params.initialization_options
        server.projects.open(_folders(params), server.settings_for)
        server.warmup.start()

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        if server.supports_configuration:
            await _pull_configuration(server)
        for project in server.projects:
            server.indexing.start(project)
        if server.supports_watched_files_registration:
            await _watch_files(server)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and CONFIGURATION_SECTION in settings:
            server.client_settings = settings[CONFIGURATION_SECTION]
        elif server.supports_configuration:
            await _pull_configuration(server)
            return
        _reconfigure(server)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders_changed(params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.removed:
            if (path := to_fs_path(folder.uri)) and (gone := server.projects.remove_folder(Path(path))):
                server.indexing.stop(gone)
                gone.close()
        added = [Path(p) for f in params.event.added if (p := to_fs_path(f.uri))]
        opened = server.projects.open(added, server.settings_for)
        if opened and server.supports_configuration:
            await _pull_configuration(server)  # the new folders' own settings
        for project in opened:
            server.indexing.start(project)

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: Any) -> None:
        server.indexing.stop_all()
        for project in server.projects:
            project.close()

    @server.feature(types.EXIT)
    def exit_(params: Any) -> None:
        """pygls exits after this handler, but the interpreter then waits for worker threads (an embedding batch,
        a generation) to finish. Indexing is told to stop at its next file; if work still runs after a grace
        period, the process ends anyway (every index write is one transaction, so nothing is lost)."""
        server.indexing.stop_all()
        code = 0 if server.protocol.shutdown_requested else 1
        timer = threading.Timer(EXIT_GRACE_SECONDS, os._exit, [code])
        timer.daemon = True
        timer.start()


def _folders(params: types.InitializeParams) -> list[Path]:
    if params.workspace_folders:
        return [Path(p) for f in params.workspace_folders if (p := to_fs_path(f.uri))]
    if params.root_uri and (p := to_fs_path(params.root_uri)):
        return [Path(p)]
    if params.root_path:
        return [Path(params.root_path)]
    return []


async def _pull_configuration(server: CopilotLanguageServer) -> None:
    """Ask for the `copilotIndex` section globally and for each repository's folder (its `scopeUri`)."""
    projects = list(server.projects)
    items = [types.ConfigurationItem(section=CONFIGURATION_SECTION)] + [
        types.ConfigurationItem(scope_uri=from_fs_path(str(p.root)), section=CONFIGURATION_SECTION) for p in projects
    ]
    try:
        answer = await asyncio.wait_for(server.workspace_configuration_async(types.ConfigurationParams(items=items)),
                                        CONFIGURATION_TIMEOUT_SECONDS)
    except Exception as exc:  # a client that cannot answer keeps the other sources
        log.info("workspace/configuration was not answered: %s", exc)
        return
    answer = list(answer or [])
    server.client_settings = answer[0] if answer else None
    server.folder_settings = {p.root: a for p, a in zip(projects, answer[1:], strict=False) if a != answer[0]}
    _reconfigure(server)


def _reconfigure(server: CopilotLanguageServer) -> None:
    for project in server.projects:
        project.reconfigure(server.settings_for(project.root))


async def _watch_files(server: CopilotLanguageServer) -> None:
    registration = types.Registration(
        id=WATCHER_REGISTRATION_ID,
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
        ),
    )
    try:
        await asyncio.wait_for(
            server.client_register_capability_async(types.RegistrationParams(registrations=[registration])),
            CONFIGURATION_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        log.info("the client did not register file watching (saves still re-index): %s", exc)

"""Document sync (incremental; pygls keeps the buffers) and the changes that trigger re-indexing:
saves and watched-file events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from copilot_index.indexer import CopilotIndexError

if TYPE_CHECKING:
    from ..server import CopilotLanguageServer

log = logging.getLogger(__name__)


def register(server: CopilotLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(params: types.DidOpenTextDocumentParams) -> None:
        log.debug("opened %s", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(params: types.DidChangeTextDocumentParams) -> None:
        """pygls has applied the edits (an edit out of range was clamped to the document); the buffer now
        differs from the indexed file, so completions elsewhere read it instead of the index's copy."""
        server.suggestions.edited(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.suggestions.forget(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    async def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.suggestions.saved(params.text_document.uri)
        _changed(server, params.text_document.uri, "saved")

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched_files_changed(params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            _changed(server, change.uri, "files changed on disk")


def _changed(server: CopilotLanguageServer, uri: str, reason: str) -> None:
    try:
        located = server.projects.locate(uri, must_be_file=False)
    except CopilotIndexError:
        return  # outside the workspace: not ours to index
    server.indexing.changed(located.path, f"{located.relative} {reason}")

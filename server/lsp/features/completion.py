"""`textDocument/inlineCompletion` (LSP 3.18) and `textDocument/completion` as a fallback for clients
without inline completion: one item carrying the suggestion."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from copilot_index.indexer import CopilotIndexError
from copilot_index.server.completion.request import CompletionResult

if TYPE_CHECKING:
    from ..server import CopilotLanguageServer

log = logging.getLogger(__name__)

SOURCES_COMMAND = "copilotIndex.suggestionSources"
WARM_NOTIFICATION = "copilotIndex/warm"
"""Sent by an editor when a file is opened or the cursor moves to another line: {textDocument: {uri}, position}."""


def register(server: CopilotLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
        uri = params.text_document.uri
        result = await _suggest(server, uri, params.position, "inline")
        if result is None:
            return types.InlineCompletionList(items=[])
        item = types.InlineCompletionItem(
            insert_text=result.completion,
            range=types.Range(params.position, params.position),
            command=_sources_command(uri),
        )
        return types.InlineCompletionList(items=[item])

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
    async def completion(params: types.CompletionParams) -> types.CompletionList:
        uri = params.text_document.uri
        result = await _suggest(server, uri, params.position, "fallback")
        if result is None:
            return types.CompletionList(is_incomplete=True, items=[])
        first_line = result.completion.strip().split("\n", 1)[0]
        item = types.CompletionItem(
            label=first_line[:80] or result.completion[:80],
            kind=types.CompletionItemKind.Text,
            detail="copilot-index",
            documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=_grounding(result)),
            text_edit=types.TextEdit(range=types.Range(params.position, params.position), new_text=result.completion),
            sort_text="0",
            preselect=True,
            command=_sources_command(uri),
            data={"sources": [{"path": s.path, "start_line": s.start_line, "end_line": s.end_line}
                              for s in result.sources]},
        )
        return types.CompletionList(is_incomplete=True, items=[item])

    @server.feature(WARM_NOTIFICATION)
    async def warm(params: Any) -> None:
        try:  # a custom notification's params arrive as named tuples, unchecked
            uri = str(params.textDocument.uri)
            position = types.Position(int(params.position.line), int(params.position.character))
        except (AttributeError, TypeError, ValueError):
            log.warning("%s needs {textDocument: {uri}, position: {line, character}}; ignored", WARM_NOTIFICATION)
            return
        try:
            await server.suggestions.warm(uri, position)
        except CopilotIndexError as exc:  # a notification has no answer: the reason goes to the log
            log.info("%s ignored: %s", WARM_NOTIFICATION, exc)


async def _suggest(
    server: CopilotLanguageServer, uri: str, position: types.Position, kind: Literal["inline", "fallback"]
) -> CompletionResult | None:
    """The suggestion, or None; bad input becomes an InvalidParams error response."""
    try:
        return await server.suggestions.suggest(uri, position, kind)
    except CopilotIndexError as exc:
        raise JsonRpcInvalidParams(str(exc)) from exc


def _sources_command(uri: str) -> types.Command:
    """Carried by the item, so a client can ask what grounded the suggestion it shows."""
    return types.Command(title="Show the sources of this suggestion", command=SOURCES_COMMAND, arguments=[uri])


def _grounding(result: CompletionResult) -> str:
    if not result.sources:
        return "Suggested by copilot-index."
    where = ", ".join(f"{s.path}:{s.start_line}-{s.end_line}" for s in result.sources)
    return f"Suggested by copilot-index, grounded in {where}."

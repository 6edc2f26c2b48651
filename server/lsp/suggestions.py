"""Suggestions for a cursor: the newest request per document wins, and generation (which guards every
suggestion before it is returned) runs in a worker thread.

A newer request for the same document sets the older one's cancel event: an older request still
waiting never starts, and one already generating stops at its next token. `$/cancelRequest` does
the same through asyncio task cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.workspace import Workspace

from copilot_index.indexer import CopilotIndexError
from copilot_index.server.completion.request import BadRequestError, CompletionRequest, CompletionResult

from .client import Client
from .workspace import Located, Projects, document_text

log = logging.getLogger(__name__)

_T = TypeVar("_T")

MAX_UNSAVED_DOCUMENTS = 8
"""Most other unsaved buffers read as retrieval context for one completion."""


@dataclass
class CompletionStats:
    """Counters for `copilotIndex.status` and the benchmark."""

    requests: int = 0
    generated: int = 0
    """Requests whose generation ran to its end (a suggestion, maybe empty)."""
    superseded: int = 0
    """Requests dropped before generating because a newer one for the document arrived."""
    cancelled: int = 0
    """Generations stopped at a token because a newer request or $/cancelRequest arrived."""
    blocked: int = 0
    """Suggestions a guard blocked (never sent)."""
    failed: int = 0
    from_cache: int = 0
    """Requests answered from the cache: the user typed into a suggestion, or accepted one whose follow-up was
    prefetched."""
    prefetched: int = 0
    """Follow-ups computed in the background, as if the suggestion shown were accepted."""
    warmed: int = 0
    """Places whose prompt was evaluated into the model's cache before the first request there."""

    def as_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class LastSuggestion:
    """What was last suggested for a document and what grounded it (`copilotIndex.suggestionSources`)."""

    uri: str
    completion: str
    sources: list[dict[str, Any]]
    guard: list[dict[str, Any]]
    latency_ms: float
    stop_reason: str
    confidence: float | None = None
    """How sure the model was (None when its server does not say); below `completion.min_confidence` it is
    `withheld`."""
    withheld: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Pending:
    """One request's cancellation: `cancel` stops its generation thread at the next token, `superseded`
    wakes its handler so that it answers at once."""

    cancel: threading.Event = field(default_factory=threading.Event)
    superseded: asyncio.Event = field(default_factory=asyncio.Event)

    def set(self) -> None:
        self.cancel.set()
        self.superseded.set()


@dataclass
class _Slot:
    """Per-document state: the newest request, and the lock held while a generation thread runs."""

    latest: _Pending | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    requests: int = 0
    """Requests for the document so far (a prefetch waits to see that none came after its suggestion)."""


class SuggestionService:
    """Turns a document position into a guarded suggestion (the completion feature's service)."""

    def __init__(self, client: Client, projects: Projects, workspace: Callable[[], Workspace],
                 imports_ready: Callable[[], bool] = lambda: True) -> None:
        self.client = client
        self.projects = projects
        self.workspace = workspace
        """pygls' open documents (they exist from `initialize` on)."""
        self.imports_ready = imports_ready
        """Waits until the heavy libraries are imported (once, in one thread: see `warmup`)."""
        self.stats = CompletionStats()
        self.last: dict[str, LastSuggestion] = {}
        """The last suggestion sent for each document URI."""
        self._slots: dict[str, _Slot] = {}
        self._unsaved: dict[str, None] = {}
        """URIs of open documents changed since they were opened or last saved, in the order of their last edit."""
        self._tasks: set[asyncio.Task[None]] = set()
        """Prefetches running in the background."""

    def edited(self, uri: str) -> None:
        """The buffer now differs from the indexed file: completions elsewhere read it instead of the index's copy."""
        self._unsaved.pop(uri, None)
        self._unsaved[uri] = None  # re-added: the newest edit comes last

    def saved(self, uri: str) -> None:
        self._unsaved.pop(uri, None)

    async def suggest(self, uri: str, position: types.Position,
                      kind: Literal["inline", "fallback"] = "inline") -> CompletionResult | None:
        """The guarded suggestion at `position`, or None (switched off for this kind of request in the document's
        folder, superseded, cancelled, blocked, failed or empty).

        Raises OutsideWorkspaceError, DocumentUnavailableError or BadRequestError for bad input.
        """
        located = self.projects.locate(uri)
        lsp = located.project.settings.lsp  # the document's own folder's settings
        if not (lsp.inline_completion if kind == "inline" else lsp.completion_fallback):
            return None
        text = document_text(self.workspace(), uri, located)
        if len(text) > lsp.max_document_bytes:
            log.info("no completion in %s: the document is larger than lsp.max_document_bytes", located.relative)
            return None
        request = self._request(located, text, position)
        self.stats.requests += 1
        slot = self._slots.setdefault(uri, _Slot())
        slot.requests += 1
        if slot.latest is not None:
            slot.latest.set()
        pending = slot.latest = _Pending()
        try:
            result = await self._run(slot, pending, located, request, lsp.completion_debounce_ms / 1000, self._generate)
        except asyncio.CancelledError:  # $/cancelRequest
            pending.cancel.set()
            raise
        finally:
            if slot.latest is pending:
                slot.latest = None
        if result is None:
            return None
        if result.stop_reason == "cancelled" or pending.cancel.is_set():
            self.stats.cancelled += 1
            return None
        self.stats.generated += 1
        self.stats.from_cache += result.cached
        self.last[uri] = LastSuggestion(
            uri, result.completion, [asdict(s) for s in result.sources], result.guard, round(result.latency_ms, 2),
            result.stop_reason, None if result.confidence is None else round(result.confidence, 4), result.withheld,
        )
        if lsp.prefetch and result.completion.strip() and not result.blocked:
            self._spawn(self._prefetch(slot, located, request, result.completion, lsp.prefetch_after_ms / 1000))
        return result if result.completion else None

    async def _prefetch(self, slot: _Slot, located: Located, request: CompletionRequest, completion: str,
                        after: float) -> None:
        """What comes after a suggestion, computed while it is shown, as if it were accepted: accepting it and typing
        on are then answered from the engine's cache. It starts once the suggestion has been shown for `after`
        seconds with no newer request; any newer request for the document cancels it."""
        seen = slot.requests
        await asyncio.sleep(after)
        if slot.latest is not None or slot.requests != seen:  # the user has moved on already
            return
        try:
            accepted = request.accepted(completion)
        except BadRequestError:
            return
        pending = slot.latest = _Pending()
        try:
            result = await self._run(slot, pending, located, accepted, 0.0, self._generate, counted=False)
        finally:
            if slot.latest is pending:
                slot.latest = None
        if result is not None and result.completion and not pending.cancel.is_set():
            self.stats.prefetched += 1

    async def warm(self, uri: str, position: types.Position) -> None:
        """The cursor is at a new place (`copilotIndex/warm`, sent by the editor when a file is opened or the cursor
        moves to another line): evaluate the prompt there into the model's cache while the user reads, so the first
        suggestion there evaluates only what is typed since. Any request for the document supersedes it."""
        located = self.projects.locate(uri)
        lsp = located.project.settings.lsp
        text = document_text(self.workspace(), uri, located)
        if not lsp.inline_completion or len(text) > lsp.max_document_bytes:
            return
        request = self._request(located, text, position)
        slot = self._slots.setdefault(uri, _Slot())
        if slot.latest is not None:  # a suggestion is being computed: it warms the cache itself
            return
        pending = slot.latest = _Pending()
        try:
            warmed = await self._run(slot, pending, located, request, lsp.completion_debounce_ms / 1000, self._warm,
                                     counted=False)
        finally:
            if slot.latest is pending:
                slot.latest = None
        if warmed is not None and not pending.cancel.is_set():
            self.stats.warmed += 1

    def _warm(self, located: Located, request: CompletionRequest, cancel: threading.Event) -> bool | None:
        """Worker thread: fill the model's cache for `request` (True), or None where the backend keeps none."""
        self.imports_ready()
        try:
            return located.project.engine.warm(request, cancel) or None
        except Exception:  # pre-warming is an optimisation: a failure here shows when the user asks for a suggestion
            log.exception("pre-warming the model's cache for %s failed", request.path)
            return None

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, slot: _Slot, pending: _Pending, located: Located, request: CompletionRequest,
                   debounce: float, job: Callable[[Located, CompletionRequest, threading.Event], _T],
                   counted: bool = True) -> _T | None:
        """Wait out the debounce and the document's running generation, then generate (or run `job`) in a thread.
        Returns None at once when a newer request supersedes this one at any point (`counted`: in the stats)."""
        superseded = asyncio.ensure_future(pending.superseded.wait())
        try:
            if debounce > 0:
                await asyncio.wait({superseded}, timeout=debounce)
            acquire = asyncio.ensure_future(slot.lock.acquire())
            try:
                await asyncio.wait({acquire, superseded}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                _give_up(acquire, slot.lock)
                raise
            if not acquire.done() or pending.cancel.is_set():
                _give_up(acquire, slot.lock)
                self.stats.superseded += counted
                return None
            work = asyncio.ensure_future(asyncio.to_thread(job, located, request, pending.cancel))
            work.add_done_callback(lambda _done: slot.lock.release())  # held until the thread really ends
            await asyncio.wait({work, superseded}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                self.stats.cancelled += counted  # the thread stops at its next token and releases the lock
                return None
            return work.result()
        finally:
            superseded.cancel()

    def _request(self, located: Located, text: str, position: types.Position) -> CompletionRequest:
        """The request at `position` (the client counts columns in UTF-16 units); the request checks the cursor."""
        lines = text.split("\n")
        character = position.character
        if 0 <= position.line < len(lines):
            line = lines[position.line].removesuffix("\r")
            codec = self.workspace().position_codec
            units = codec.client_num_units(line)
            # Past the end stays past the end (by as many characters), for the request to refuse.
            character = (codec.position_from_client_units([line], types.Position(0, character)).character
                         if character <= units else len(line) + character - units)
        return CompletionRequest(located.relative, text, position.line, character, unsaved=self._unsaved_buffers(located))

    def _unsaved_buffers(self, located: Located) -> tuple[tuple[str, str], ...]:
        """(path, text) of the project's other open documents with unsaved changes, newest edits first."""
        found: list[tuple[str, str]] = []
        documents = self.workspace().text_documents
        for uri in reversed(list(self._unsaved)):
            document = documents.get(uri) or documents.get(unquote(uri))
            if document is None:
                continue
            try:
                other = self.projects.locate(uri)
            except CopilotIndexError:
                continue
            if other.project is located.project and other.relative != located.relative:
                found.append((other.relative, document.source))
            if len(found) >= MAX_UNSAVED_DOCUMENTS:
                break
        return tuple(found)

    def _generate(self, located: Located, request: CompletionRequest, cancel: threading.Event) -> CompletionResult | None:
        """Worker thread: generate a guarded suggestion. Failures are logged and give no suggestion."""
        self.imports_ready()
        destination = located.project.settings.completion.destination
        if destination is not None:
            self.client.show_once(f"copilot-index: completions are sent to {destination}.", types.MessageType.Info)
        try:
            result = located.project.engine.complete(request, cancel=cancel)
        except BadRequestError:
            raise
        except Exception as exc:
            self.stats.failed += 1
            log.exception("completion in %s failed", request.path)
            self.client.show_once(f"Completion failed ({type(exc).__name__}); see the log.")
            return None
        if result.blocked:
            self.stats.blocked += 1
        return result

    def forget(self, uri: str) -> None:
        """A closed document: cancel its work and drop its state."""
        slot = self._slots.pop(uri, None)
        if slot is not None and slot.latest is not None:
            slot.latest.set()
        self.last.pop(uri, None)
        self._unsaved.pop(uri, None)


def _give_up(acquire: asyncio.Future[Any], lock: asyncio.Lock) -> None:
    """Leave the queue for `lock`, releasing it if it was granted meanwhile."""
    if acquire.done() and not acquire.cancelled():
        lock.release()
    else:
        acquire.cancel()

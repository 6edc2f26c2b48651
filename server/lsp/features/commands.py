"""`workspace/executeCommand`: search, reindex, status, adapter training and the sources of the last
suggestion. Arguments are JSON: a string or an object, as documented on each command."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from copilot_index.indexer import CopilotIndexError, NoIndexError

from ..protocol import request_failed
from .completion import SOURCES_COMMAND

if TYPE_CHECKING:
    from ..server import CopilotLanguageServer
    from ..workspace import Project

log = logging.getLogger(__name__)

SEARCH = "copilotIndex.search"
REINDEX = "copilotIndex.reindex"
STATUS = "copilotIndex.status"
TRAIN_ADAPTER = "copilotIndex.trainAdapter"


class CommandError(CopilotIndexError):
    """Arguments a command cannot use."""


def register(server: CopilotLanguageServer) -> None:
    @server.command(SEARCH)
    async def search(*args: Any) -> dict[str, Any]:
        """[query] or [{"query", "k"?, "mode"?, "lang"?, "path"?, "folder"?}] -> {"query", "root", "results"} (CLI shape)."""
        options = _options(args, "query")
        query = options.get("query")
        if not isinstance(query, str) or not query.strip():
            raise JsonRpcInvalidParams(f"{SEARCH} needs a query: [\"text\"] or [{{\"query\": \"text\"}}].")
        from copilot_index.indexer import MODES

        k, mode = options.get("k", 10), options.get("mode", "hybrid")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise JsonRpcInvalidParams("k must be a positive integer.")
        if mode not in MODES:
            raise JsonRpcInvalidParams(f"mode must be one of {', '.join(MODES)}.")
        project = _project(server, options)
        language, path_glob = _str_or_none(options.get("lang")), _str_or_none(options.get("path"))

        def run() -> list[dict[str, Any]]:
            if not project.index.exists:
                raise NoIndexError(f"There is no index for {project.root} yet; wait for indexing or run {REINDEX}.")
            return [r.as_json() for r in project.index.search(query, k, mode, language, path_glob)]

        try:
            results = await asyncio.to_thread(run)
        except CopilotIndexError as exc:
            raise _error(exc) from exc
        return {"query": query, "root": str(project.root), "results": results}

    @server.command(REINDEX)
    async def reindex(*args: Any) -> dict[str, Any]:
        """[] or [{"rebuild"?, "folder"?}] -> the index summary (the `index --json` shape)."""
        options = _options(args, None)
        project = _project(server, options)
        try:
            summary = await server.indexing.scheduler(project).run(rebuild=options.get("rebuild") is True,
                                                                   reason="reindex command")
        except CopilotIndexError as exc:
            raise _error(exc) from exc
        return summary.as_json()

    @server.command(STATUS)
    async def status(*args: Any) -> dict[str, Any]:
        """[] or [{"folder"?}] -> index status (the `status --json` shape) plus the server's own state."""
        project = _project(server, _options(args, None))
        scheduler = server.indexing.scheduler(project)
        index: dict[str, Any] | None = None
        problem: str | None = None
        if scheduler.runs or not scheduler.running:  # a first run may still be creating the database
            try:
                index = (await asyncio.to_thread(project.index.status)).as_json()
            except NoIndexError:
                pass
            except CopilotIndexError as exc:
                problem = str(exc)
        return {
            "root": str(project.root),
            "data_dir": str(project.data_dir),
            "index": index,
            "index_problem": problem,
            "indexing": {
                "running": scheduler.running,
                "runs": scheduler.runs,
                "last": scheduler.last_summary.as_json() if scheduler.last_summary else None,
                "error": scheduler.last_error,
            },
            "completion": server.suggestions.stats.as_json(),
            "model": project.settings.completion.model,
            "completions_sent_to": project.settings.completion.destination,
            # (before the server's libraries are imported, in their own thread, the engine is not built for this)
            "adapter": await asyncio.to_thread(_adapter, project) if server.warmup.ready(0) else None,
        }

    @server.command(SOURCES_COMMAND)
    async def suggestion_sources(*args: Any) -> dict[str, Any] | None:
        """[uri] -> the last suggestion for that document with its sources and guard decisions, or null."""
        uri = _options(args, "uri").get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams(f"{SOURCES_COMMAND} needs the document URI: [\"file:///...\"].")
        try:
            server.projects.locate(uri)
        except CopilotIndexError as exc:
            raise _error(exc) from exc
        last = server.suggestions.last.get(uri)
        return last.as_json() if last is not None else None

    @server.command(TRAIN_ADAPTER)
    async def train_adapter(*args: Any) -> dict[str, Any]:
        """[] or [{"folder"?}] -> the training result; long-running, with progress and cancellation."""
        project = _project(server, _options(args, None))
        await asyncio.to_thread(server.warmup.ready)  # torch and transformers are imported once, in one thread
        from copilot_index.conventions.adapter.run import train_adapter as trainer
        from copilot_index.server.completion.adapters import training_runtime
        reporter = server.progress_reporter("Training the adapter", cancellable=True)
        await reporter.begin(project.root.name)

        def progress(description: str, done: int, total: int) -> None:
            reporter.report(f"{description} {done}/{total}", int(done), int(total))

        try:
            runtime = training_runtime(project.index, project.settings.completion)
            result = await asyncio.to_thread(trainer, project.index, runtime, progress=progress, cancel=reporter.cancel)
        except asyncio.CancelledError:
            reporter.cancel.set()
            reporter.end("cancelled")
            raise
        except CopilotIndexError as exc:
            reporter.end(f"failed: {exc}")
            raise _error(exc) from exc
        reporter.end("cancelled" if reporter.cancel.is_set() else "done")
        if result.promoted:
            project.reload_model()  # the next completion loads the newly active adapter
        return result.as_json()


def _adapter(project: Project) -> str | None:
    """The adapter completions use (configured, or the repository's promoted one), or None."""
    if project.settings.completion.backend != "transformers":
        return None
    try:
        return project.engine.adapter_path()
    except Exception:  # an unreadable adapter registry must not fail the status
        log.exception("could not tell the active adapter")
        return None


def _options(args: tuple[Any, ...], positional: str | None) -> dict[str, Any]:
    """The command's single argument as options: an object, or a bare value for `positional`."""
    if not args:
        return {}
    if len(args) > 1:
        raise JsonRpcInvalidParams("Pass one argument: a JSON object of options.")
    value = args[0]
    if isinstance(value, dict):
        return value
    if positional is not None:
        return {positional: value}
    raise JsonRpcInvalidParams("Pass one argument: a JSON object of options.")


def _project(server: CopilotLanguageServer, options: dict[str, Any]) -> Project:
    folder = options.get("folder")
    if folder is not None and not isinstance(folder, str):
        raise JsonRpcInvalidParams("folder must be a file: URI.")
    try:
        return server.projects.for_folder_uri(folder)
    except CopilotIndexError as exc:
        raise _error(exc) from exc


def _error(exc: CopilotIndexError) -> JsonRpcException:
    return request_failed(str(exc))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


"""Background indexing of one project: debounced runs in a worker thread, with `$/progress`,
started on server start, on save, on watched-file changes and when git HEAD moves."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from copilot_index.indexer import CopilotIndexError, IndexBusyError

from .client import Client
from .progress import ProgressReporter

if TYPE_CHECKING:
    from copilot_index.indexer import IndexSummary

    from .workspace import Project

log = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 5.0


class IndexScheduler:
    """Keeps one project's index current. Runs never overlap; requests during a run coalesce into one more."""

    def __init__(self, client: Client, project: Project, imports_ready: Callable[[], bool] = lambda: True) -> None:
        self.client = client
        self.project = project
        self.imports_ready = imports_ready
        """Waits for the server's one import of the heavy libraries (two threads importing them at once break)."""
        self.runs = 0
        """Completed runs."""
        self.last_summary: IndexSummary | None = None
        self.last_error: str | None = None
        self.running = False
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        """A scheduled run still in its quiet period (cancelled and replaced by a newer request)."""
        self._tasks: set[asyncio.Task[object]] = set()
        self._stop = threading.Event()
        """Set on close: a run in its worker thread ends at the next file."""

    def schedule(self, reason: str, delay: float | None = None) -> None:
        """Index after `delay` seconds (default: the configured debounce) without a newer request."""
        if delay is None:
            delay = self.project.settings.lsp.index_debounce_ms / 1000
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        log.debug("indexing %s in %.2fs: %s", self.project.root, delay, reason)
        self._pending = self._spawn(self._after(delay, reason))

    async def _after(self, delay: float, reason: str) -> None:
        await asyncio.sleep(delay)
        self._pending = None  # from here on a newer request must not cancel this run
        try:
            await self.run(reason=reason)
        except IndexBusyError:
            log.info("another indexer is running on %s; trying again in %ss", self.project.root, BUSY_RETRY_SECONDS)
            self.schedule(reason, BUSY_RETRY_SECONDS)
        except CopilotIndexError:
            pass  # already reported by run()

    async def run(self, *, rebuild: bool = False, reason: str = "requested") -> IndexSummary:
        """Bring the index up to date now (after any run in progress) and return what the run did."""
        async with self._lock:
            self.running = True
            reporter = self.client.progress_reporter("Indexing")
            await reporter.begin(f"{self.project.root.name}: {reason}")
            started = time.monotonic()
            try:
                summary = await asyncio.to_thread(self._index, reporter, rebuild)
            except IndexBusyError as exc:
                reporter.end("another indexer is running")
                self.last_error = str(exc)
                raise
            except CopilotIndexError as exc:
                reporter.end(f"failed: {exc}")
                self.last_error = str(exc)
                self.client.show_once(f"Indexing {self.project.root.name} failed: {exc}")
                raise
            except Exception as exc:
                reporter.end("failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("indexing %s failed", self.project.root)
                self.client.show_once(f"Indexing {self.project.root.name} failed ({type(exc).__name__}); see the log.")
                raise CopilotIndexError(f"Indexing failed ({type(exc).__name__}: {exc}).") from exc
            finally:
                self.running = False
            self.runs += 1
            self.last_summary, self.last_error = summary, None
            self.project.indexed()
            log.info(
                "indexed %s in %.1fs: %d files changed, %d chunks embedded, %d deleted",
                self.project.root, time.monotonic() - started, summary.files_changed, summary.chunks_embedded,
                summary.chunks_deleted,
            )
            reporter.end(f"{summary.files_changed} files changed, {summary.chunks_embedded} chunks embedded")
            return summary

    def _index(self, reporter: ProgressReporter, rebuild: bool) -> IndexSummary:
        def progress(description: str, done: int, total: int) -> None:
            reporter.report(f"{description} {done}/{total} files", done, total)

        self.imports_ready()
        return self.project.index.update(rebuild=rebuild, progress=progress, should_stop=self._stop.is_set,
                                         check_integrity=self.runs == 0)  # a page scan once per session

    def _spawn(self, coroutine) -> asyncio.Task[None]:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close(self) -> None:
        self._stop.set()
        for task in list(self._tasks):
            task.cancel()


class HeadWatcher:
    """Polls a repository's HEAD (cheap file reads) and schedules indexing when it moves."""

    def __init__(self, scheduler: IndexScheduler) -> None:
        self.scheduler = scheduler
        self.last: str | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        git_dir = self.scheduler.project.repo.git_dir
        interval = self.scheduler.project.settings.lsp.head_poll_seconds
        if git_dir is None or interval <= 0:
            return
        self.last = head_signature(git_dir)
        self.task = asyncio.ensure_future(self._poll(git_dir))

    async def _poll(self, git_dir: Path) -> None:
        while True:
            await asyncio.sleep(self.scheduler.project.settings.lsp.head_poll_seconds or 2.0)
            try:
                current = head_signature(git_dir)
            except Exception:  # a watcher must never die
                log.exception("reading HEAD of %s failed", git_dir)
                continue
            if current != self.last:
                log.info("HEAD of %s moved; re-indexing", self.scheduler.project.root)
                self.last = current
                self.scheduler.schedule("HEAD moved")

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


def head_signature(git_dir: Path) -> str:
    """What HEAD points at: the ref name and the commit it holds (loose or packed)."""
    head = _read(git_dir / "HEAD")
    if not head.startswith("ref:"):
        return head
    ref = head[4:].strip()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / _read(git_dir / "commondir")).resolve()
    for base in (git_dir, common):
        value = _read(base / ref)
        if value:
            return f"{ref} {value}"
    packed = _read(common / "packed-refs")
    for line in packed.splitlines():
        if line.endswith(" " + ref):
            return f"{ref} {line.split(' ', 1)[0]}"
    return f"{ref} (unborn)"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


class IndexingService:
    """The index schedulers and HEAD watchers of all projects."""

    def __init__(self, client: Client, imports_ready: Callable[[], bool] = lambda: True) -> None:
        self.client = client
        self.imports_ready = imports_ready
        self.schedulers: dict[Path, IndexScheduler] = {}
        """Schedulers by repository root."""
        self.watchers: dict[Path, HeadWatcher] = {}

    def start(self, project: Project) -> None:
        """Watch HEAD and, unless `lsp.index_on_start` is off, index in the background now."""
        if project.root in self.watchers:
            return
        scheduler = self.scheduler(project)  # a command may have asked for it already
        watcher = self.watchers[project.root] = HeadWatcher(scheduler)
        watcher.start()
        if project.settings.lsp.index_on_start:
            scheduler.schedule("server start", 0.0)

    def scheduler(self, project: Project) -> IndexScheduler:
        if project.root not in self.schedulers:
            self.schedulers[project.root] = IndexScheduler(self.client, project, self.imports_ready)
        return self.schedulers[project.root]

    def changed(self, path: Path, reason: str) -> bool:
        """Schedule indexing for the project holding `path`; False when no project does."""
        for root, scheduler in self.schedulers.items():
            if path == root or path.is_relative_to(root):
                if root / ".git" in (path, *path.parents):
                    return False  # HEAD moves are the watcher's business; other git internals are not code
                scheduler.schedule(reason)
                return True
        return False

    def stop(self, project: Project) -> None:
        if (watcher := self.watchers.pop(project.root, None)) is not None:
            watcher.stop()
        if (scheduler := self.schedulers.pop(project.root, None)) is not None:
            scheduler.close()

    def stop_all(self) -> None:
        for root in list(self.schedulers):
            scheduler = self.schedulers[root]
            self.stop(scheduler.project)

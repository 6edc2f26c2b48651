"""`$/progress` begin / report / end for long work, when the client supports it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.progress import Progress

log = logging.getLogger(__name__)

CREATE_TIMEOUT_SECONDS = 5.0
REPORT_INTERVAL_SECONDS = 0.25


class ProgressReporter:
    """One piece of long work shown in the client's progress UI; reports may come from any thread.

    `cancel` is set when the client cancels the progress (`window/workDoneProgress/cancel`).
    Without client support every method is a no-op, and the work runs the same.
    """

    def __init__(self, work_done: Progress | None, notify: Callable[[str, Any], None], title: str, *,
                 cancellable: bool = False) -> None:
        self.work_done = work_done
        """pygls' progress API, or None when the client has no progress UI."""
        self.notify = notify
        self.title = title
        self.cancellable = cancellable
        self.cancel = threading.Event()
        self.token: str | None = None
        self._last_report = 0.0
        self._last_percentage = -1

    async def begin(self, message: str = "") -> None:
        if self.work_done is None:
            return
        token = f"copilot-index/{uuid.uuid4()}"
        try:
            await asyncio.wait_for(self.work_done.create_async(token), CREATE_TIMEOUT_SECONDS)
        except Exception as exc:  # a client that refuses or ignores the request gets no progress UI
            log.info("the client did not create progress %r: %s", self.title, exc)
            return
        self.token = token
        self.work_done.begin(
            token,
            types.WorkDoneProgressBegin(title=self.title, message=message or None, percentage=0,
                                        cancellable=self.cancellable),
        )
        future = self.work_done.tokens.get(token)
        if future is not None:
            future.add_done_callback(lambda _f: self.cancel.set())

    def report(self, message: str, done: int = 0, total: int = 0) -> None:
        """Report from any thread; reports closer together than REPORT_INTERVAL_SECONDS are dropped."""
        if self.token is None:
            return
        percentage = int(100 * done / total) if total else 0
        now = time.monotonic()
        final = bool(total) and done >= total
        if not final and (now - self._last_report < REPORT_INTERVAL_SECONDS or percentage == self._last_percentage):
            return
        self._last_report, self._last_percentage = now, percentage
        value = types.WorkDoneProgressReport(message=message, percentage=min(100, percentage),
                                             cancellable=self.cancellable)
        self.notify(types.PROGRESS, types.ProgressParams(token=self.token, value=value))

    def end(self, message: str = "") -> None:
        if self.token is None:
            return
        value = types.WorkDoneProgressEnd(message=message or None)
        self.notify(types.PROGRESS, types.ProgressParams(token=self.token, value=value))
        if self.work_done is not None:
            self.work_done.tokens.pop(self.token, None)
        self.token = None

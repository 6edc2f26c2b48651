"""A cancellation event for backend tests: it sets itself after a given number of checks (backends check it
once per token), so "stop at the next token" is tested at an exact point instead of with a timer."""

from __future__ import annotations

import threading


class CancelAfter(threading.Event):
    """Sets itself when it has been asked `checks` times."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.remaining = checks

    def is_set(self) -> bool:
        self.remaining -= 1
        if self.remaining < 0:
            self.set()
        return super().is_set()

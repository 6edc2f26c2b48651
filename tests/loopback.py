"""Real servers started by tests on 127.0.0.1: a free port, and a process awaited until it answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(command: Sequence[str], probe: str, ready: Callable[[Any], bool], *, seconds: float = 90) -> Iterator[None]:
    """Runs `command` until the block ends, once GET `probe` gives an answer that `ready` accepts."""
    process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if ready(answer):
                    break
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            raise RuntimeError(f"{command[0]} did not start: {log}")
        time.sleep(0.3)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)

"""Terminal output for the CLI: rich tables and progress bars for people, plain JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console as RichConsole
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class Console:
    """Writes results to stdout and messages to stderr; progress only on an interactive terminal."""

    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.out = RichConsole(file=sys.stdout, highlight=False)
        self.err = RichConsole(file=sys.stderr, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return not self.json_mode and self.err.is_terminal

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)

    def note(self, message: str) -> None:
        if not self.json_mode:
            self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        """A warning the user must see even when a script reads the JSON on stdout (it goes to stderr)."""
        self.err.print(message, markup=False)

    @contextmanager
    def progress(self) -> Iterator[Any]:
        """Yield a callback (description, done, total) that draws a bar on a TTY and does nothing otherwise."""
        if not self.interactive:
            yield lambda description, done, total: None
            return
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        )
        tasks: dict[str, Any] = {}

        def update(description: str, done: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=done, total=total)

        with bar:
            yield update

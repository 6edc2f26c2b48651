"""Logging for the language server: stderr or `--log-file`, and `window/logMessage` to the client.

stdout carries the protocol, so no handler here ever writes to it. Only the product's own loggers
(`copilot_index.*`) are forwarded to the client: pygls logs every message it sends, and forwarding
those would send a message about each message.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from .client import Client

PRODUCT_LOGGER = "copilot_index"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_LEVELS = (
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
)


class ClientLogHandler(logging.Handler):
    """Forwards log records to the client as `window/logMessage` notifications, from any thread."""

    def __init__(self, client: Client, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.client = client
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not self.client.connected:
            return
        try:
            kind = next((t for lvl, t in _LEVELS if record.levelno >= lvl), types.MessageType.Log)
            self.client.notify(
                types.WINDOW_LOG_MESSAGE, types.LogMessageParams(type=kind, message=self.format(record))
            )
        except Exception:  # logging must never raise into the code that logs
            self.handleError(record)


def configure_logging(verbosity: int, log_file: str | None) -> logging.Handler:
    """Send records to `log_file` (or stderr) at WARNING, INFO (-v) or DEBUG (-vv); returns the handler."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler: logging.Handler
    if log_file:
        Path(log_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(Path(log_file).expanduser(), encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO))
    # pygls logs every message it sends and receives at DEBUG, and the params of a failed request at ERROR:
    # documents, settings, secrets. Its records keep their method names and lose their arguments.
    pygls = logging.getLogger("pygls")
    pygls.setLevel(logging.WARNING)
    pygls.addFilter(withhold_arguments)
    return handler


def withhold_arguments(record: logging.LogRecord) -> bool:
    """Replace a record's arguments (message payloads, request params) by a placeholder."""
    if record.args:
        record.args = tuple("<withheld>" if not isinstance(a, int | float) else a for a in _as_tuple(record.args))
    record.exc_info = record.exc_info if record.levelno >= logging.ERROR else None
    return True


def _as_tuple(args: object) -> tuple[object, ...]:
    return args if isinstance(args, tuple) else (args,)


def attach_client_handler(client: Client, stderr: logging.Handler | None = None) -> ClientLogHandler:
    """Forward the product's INFO and higher records to the client.

    `stderr`: the handler writing to the server's stderr when the client reads that too (stdio): while the
    client is connected it leaves out the records the client already gets, which it would otherwise show twice.
    """
    handler = ClientLogHandler(client)
    logging.getLogger(PRODUCT_LOGGER).addHandler(handler)
    if stderr is not None:
        def not_forwarded(record: logging.LogRecord) -> bool:
            forwarded = record.levelno >= handler.level and record.name.split(".")[0] == PRODUCT_LOGGER
            return not (forwarded and client.connected)

        stderr.addFilter(not_forwarded)
    return handler

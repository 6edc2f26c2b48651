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
    from .server import CopilotLanguageServer

PRODUCT_LOGGER = "copilot_index"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_LEVELS = (
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
)


class ClientLogHandler(logging.Handler):
    """Forwards log records to the client as `window/logMessage` notifications, from any thread."""

    def __init__(self, server: CopilotLanguageServer, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.server = server
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not self.server.connected:
            return
        try:
            kind = next((t for lvl, t in _LEVELS if record.levelno >= lvl), types.MessageType.Log)
            self.server.notify_threadsafe(
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
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    return handler


def attach_client_handler(server: CopilotLanguageServer) -> ClientLogHandler:
    """Forward the product's INFO and higher records to the client."""
    handler = ClientLogHandler(server)
    logging.getLogger(PRODUCT_LOGGER).addHandler(handler)
    return handler

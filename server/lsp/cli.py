"""`copilot-lsp`: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="copilot-lsp",
        description="copilot-index language server: grounded inline completion, search and background indexing.",
    )
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen for one client on HOST:PORT instead of stdio")
    parser.add_argument("--log-file", metavar="FILE", help="write the log to FILE instead of stderr")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    return parser.parse_args(argv)


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"copilot-lsp: --tcp wants HOST:PORT (for example 127.0.0.1:2087), not {value!r}.")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    address = _host_port(args.tcp) if args.tcp else None
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"  # nothing about the user's machine is ever reported
    os.environ["DO_NOT_TRACK"] = "1"
    from .factory import create_server
    from .logs import attach_client_handler, configure_logging

    handler = configure_logging(args.verbose, args.log_file)
    server = create_server()
    # Over stdio the editor shows the server's stderr and its window/logMessage side by side: say each thing once.
    attach_client_handler(server, stderr=handler if address is None and not args.log_file else None)
    if address is not None:
        log.info("copilot-lsp listening on %s:%d", *address)
        server.start_tcp(*address)
    else:
        server.start_io()
    return 0

"""The copilot-index language server (pygls): `create_server()` builds it, `main()` runs `copilot-lsp`."""

from __future__ import annotations

from .cli import main

__all__ = ["create_server", "main"]


def create_server():  # type: ignore[no-untyped-def]
    """Build the language server with every feature registered (see `server.create_server`)."""
    from .factory import create_server as build

    return build()

"""One module per feature; each has `register(server)`, which adds its handlers to the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands, completion, documents, lifecycle, symbols

if TYPE_CHECKING:
    from ..server import CopilotLanguageServer

FEATURES = (lifecycle, documents, completion, symbols, commands)


def register_all(server: CopilotLanguageServer) -> None:
    for feature in FEATURES:
        feature.register(server)

"""`create_server()`: the one place that builds the language server and registers every feature on it."""

from __future__ import annotations

from .features import FEATURES
from .server import CopilotLanguageServer


def create_server() -> CopilotLanguageServer:
    """Build the server and register each feature module's handlers on it."""
    server = CopilotLanguageServer()
    for feature in FEATURES:
        feature.register(server)
    return server

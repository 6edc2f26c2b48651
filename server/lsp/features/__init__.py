"""One module per feature; each has `register(server)`, which adds its handlers to the server."""

from __future__ import annotations

from . import commands, completion, documents, lifecycle, symbols

FEATURES = (lifecycle, documents, completion, symbols, commands)

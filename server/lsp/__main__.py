"""`python -m copilot_index.server.lsp`: the same as `copilot-lsp`."""

from __future__ import annotations

from . import main

raise SystemExit(main())

"""Import the heavy libraries once, in one thread, while the client gets its `initialize` answer.

Two completions arriving together on a fresh server would otherwise import transformers from two threads
at once, and its lazy modules do not survive that ("cannot import name AutoModelForCausalLM"). Work that
needs them waits for `ready()` instead of importing them itself.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

MODULES = (
    "copilot_index.indexer.onnx_backend",
    "torch",
    "transformers",
    "peft",
    "sentence_transformers",
    "copilot_index.conventions.guards",
    "copilot_index.indexer.pipeline",
    "copilot_index.server.completion.engine",
    "copilot_index.server.model.loader",
)
NAMES = (("transformers", "AutoModelForCausalLM"), ("transformers", "AutoTokenizer"))
"""Names that transformers resolves lazily on first access: resolved here, once."""


class Warmup:
    """The one import of the server's heavy dependencies; `ready()` waits for it (from any thread)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Begin importing in a daemon thread (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="copilot-index-imports", daemon=True).start()

    def _run(self) -> None:
        try:
            importlib.import_module("copilot_index.indexer.onnx_backend").import_onnxruntime()  # before anything
            for name in MODULES:                                                               # reads the cache
                importlib.import_module(name)
            for module, attribute in NAMES:
                getattr(importlib.import_module(module), attribute)
        except Exception:  # an import that fails here fails again, with its own message, where it is used
            log.exception("importing the server's libraries failed")
        finally:
            self._done.set()

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until the imports are done (starting them if nobody did); True when they are."""
        self.start()
        return self._done.wait(timeout)

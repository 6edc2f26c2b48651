"""The guards every suggestion passes before it leaves the server (licence, security, secrets)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from copilot_index.conventions.guards import GuardConfig, GuardPipeline, GuardResult, Suggestion
from copilot_index.indexer.errors import CopilotIndexError
from copilot_index.indexer.status import open_existing_store

if TYPE_CHECKING:
    from copilot_index.indexer.store import ChunkStore

log = logging.getLogger(__name__)


class GuardRunner:
    """One repository's GuardPipeline, built on first use and rebuilt after each index run.

    The pipeline reads licence fingerprints and redacted-secret digests from the index, so a fresh
    index means a fresh pipeline. Checks are serialized: the pipeline shares one SQLite connection.
    """

    def __init__(self, root: Path, data_dir: Path, *, enabled: bool = True) -> None:
        self.root = root
        self.data_dir = data_dir
        self.enabled = enabled
        """False when `lsp.guards` is off: suggestions then leave unchecked."""
        self.warnings: list[str] = []
        """Problems in the `[guards]` settings, one sentence each (the server tells the user once)."""
        self._pipeline: GuardPipeline | None = None
        self._store: ChunkStore | None = None
        self._lock = threading.Lock()

    def check(self, suggestion: Suggestion) -> GuardResult | None:
        """All guards' decisions on `suggestion` (written to the audit log), or None when guards are off."""
        if not self.enabled:
            return None
        with self._lock:
            if self._pipeline is None:
                self._pipeline = self._build()
            return self._pipeline.check(suggestion)

    def _build(self) -> GuardPipeline:
        try:
            self._store = open_existing_store(self.data_dir, self.root)
        except CopilotIndexError as exc:
            log.info("guards run without the index (no licence fingerprints yet): %s", exc)
            self._store = None
        config = GuardConfig.load(self.root)
        self.warnings = list(config.warnings)
        return GuardPipeline.for_repository(self.root, self.data_dir, self._store, config)

    def refresh(self) -> None:
        """Forget the pipeline so the next check reads the updated index."""
        with self._lock:
            self._pipeline = None
            if self._store is not None:
                self._store.close()
                self._store = None

    def close(self) -> None:
        self.refresh()

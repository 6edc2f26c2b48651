"""CompletionEngine: request -> retrieval -> prompt -> backend -> cut -> guards -> result."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from copilot_index.conventions.adapter.registry import AdapterRegistry
from copilot_index.conventions.guards import GuardPipeline, Suggestion
from copilot_index.indexer.config import IndexConfig
from copilot_index.indexer.errors import CopilotIndexError
from copilot_index.indexer.languages import language_for_path
from copilot_index.indexer.repo import RepoInfo
from copilot_index.indexer.search import HybridSearch, search_for
from copilot_index.indexer.status import open_existing_store
from copilot_index.indexer.store import ChunkStore
from copilot_index.server.model.templates import template_for, template_named

from .backends import Backend, OpenAIBackend, TransformersBackend
from .cache import SuggestionCache
from .config import CompletionConfig
from .context import ContextRetriever, Snippet
from .overlay import UnsavedBuffers
from .prompt import Budgets, assemble, fim_enabled, prompt_window
from .request import CompletionRequest, CompletionResult, Source, cut_block, wants_block

log = logging.getLogger(__name__)


class CompletionEngine:
    """Completes code at a cursor, grounded in the repository's index. Thread-safe for concurrent calls."""

    def __init__(
        self,
        repo: RepoInfo,
        data_dir: Path,
        config: CompletionConfig | None = None,
        *,
        backend: Backend | None = None,
        adapter: str | None = None,
        use_adapter: bool = True,
        guard: bool = True,
        index_config: IndexConfig | None = None,
    ) -> None:
        self.repo = repo
        self.data_dir = data_dir
        self.config = config or CompletionConfig.load(repo.root)
        self.index_config = index_config or IndexConfig.load(repo.root)
        """How the index's search runs (embedder backend, sequence length, dense weight)."""
        self._backend = backend
        self._adapter = adapter
        self.use_adapter = use_adapter
        self.guard = guard
        """Run the guards here; a caller that guards suggestions itself (the language server) turns this off."""
        self._search: HybridSearch | None = None
        self._store: ChunkStore | None = None
        self._lock = threading.Lock()
        self._guards: GuardPipeline | None = None
        self.cache = SuggestionCache()
        self.buffers = UnsavedBuffers()

    # -- lazily built parts ----------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                self._backend = self._make_backend()
            return self._backend

    def _make_backend(self) -> Backend:
        cfg = self.config
        import torch

        torch.set_num_threads(cfg.threads)
        if cfg.backend == "openai":
            template = template_named(cfg.template) if cfg.template else template_for(cfg.remote_model or cfg.model)
            return OpenAIBackend(cfg.endpoint, cfg.remote_model or cfg.model, template, context_length=cfg.context_length)
        return TransformersBackend(None if cfg.model == "default" else cfg.model, adapter=self.adapter_path(),
                                   dtype=cfg.dtype)

    def adapter_path(self) -> str | None:
        """The adapter to load: explicit, configured, or the repository's promoted one (unless disabled)."""
        if not self.use_adapter:
            return None
        if self._adapter or self.config.adapter:
            return self._adapter or self.config.adapter
        active = AdapterRegistry(self.data_dir).active()
        return str(active.path) if active is not None else None

    def search(self) -> HybridSearch | None:
        """The index's search, or None when the repository has not been indexed yet."""
        with self._lock:
            if self._search is None:
                try:
                    self._store = open_existing_store(self.data_dir, self.repo.root)
                except CopilotIndexError as exc:
                    log.info("completing without retrieval: %s", exc)
                    return None
                self._search = search_for(self._store, self.data_dir, self.index_config)
            return self._search

    def guards(self) -> GuardPipeline:
        """The licence, security and secret guards, reading fingerprints and digests from the index."""
        self.search()  # opens the index when there is one
        with self._lock:
            if self._guards is None:
                self._guards = GuardPipeline.for_repository(self.repo.root, self.data_dir, self._store)
            return self._guards

    # -- completion ------------------------------------------------------------------------------------

    def complete(
        self, request: CompletionRequest, *, retrieval: bool | None = None, cancel: threading.Event | None = None
    ) -> CompletionResult:
        started = time.perf_counter()
        prefix, suffix = request.split()
        cached = self.cache.get(request.path, prefix, suffix)
        if cached is not None:
            return CompletionResult(cached, latency_ms=(time.perf_counter() - started) * 1000, cached=True)
        block = request.multiline if request.multiline is not None else wants_block(prefix, suffix)
        max_new = self.config.max_block_tokens if block else self.config.max_tokens
        backend = self.backend
        window = prompt_window(self.config.context_length, backend.context_length, max_new)
        budgets = Budgets(self.config.prefix_share, self.config.suffix_share, self.config.context_share)
        snippets: list[Snippet] = []
        use_retrieval = self.config.retrieval if retrieval is None else retrieval
        if use_retrieval:
            snippets = self._retrieve(request, prefix, suffix, budgets.split(window)[2], backend)
        language = language_for_path(request.path)
        prompt = assemble(backend.template, request.path, language, prefix, suffix, snippets, window,
                          backend.count_tokens, budgets,
                          fim_enabled(self.config.fim, backend.template, backend.fim_helps))
        generated = backend.generate(prompt, max_new_tokens=max_new, single_line=not block, cancel=cancel)
        text = cut_block(generated.text, prefix) if block else generated.text
        if generated.stop_reason == "cancelled":
            text = ""
        result = CompletionResult(
            completion=text,
            sources=[Source(s.path, s.start_line, s.end_line) for s in prompt.snippets],
            stop_reason=generated.stop_reason,
        )
        if self.guard and text.strip():
            verdict = self.guards().check(Suggestion(
                text, request.text, request.line, request.character, language or "text", request.path,
                sources=[(s.path, s.start_line, s.end_line) for s in prompt.snippets],
            ))
            result.guard = [{"guard": d.guard, "action": d.action, "reason": d.reason} for d in verdict.decisions]
            if verdict.blocked:
                log.info("suggestion for %s blocked: %s", request.path,
                         "; ".join(d.reason for d in verdict.decisions if d.action == "block"))
                result.completion = ""
            else:
                self.cache.put(request.path, prefix, suffix, text)
        elif text.strip():
            self.cache.put(request.path, prefix, suffix, text)
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    def _retrieve(
        self, request: CompletionRequest, prefix: str, suffix: str, budget: int, backend: Backend
    ) -> list[Snippet]:
        search = self.search()
        if search is None:
            return []
        try:
            retriever = ContextRetriever(search, candidates=self.config.retrieval_snippets, buffers=self.buffers)
            return retriever.retrieve(request.path, prefix, suffix, budget, backend.count_tokens, request.unsaved)
        except Exception:  # a failing retrieval must never fail the completion
            log.exception("context retrieval failed; completing without it")
            return []

    def reopen_index(self) -> None:
        """Forget the open index (after a rebuild replaced the file); the loaded model is kept."""
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store, self._search, self._guards = None, None, None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend.name, "template": self.backend.template.name}

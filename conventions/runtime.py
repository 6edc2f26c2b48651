"""What offline training and evaluation need of the model runtime, which lives in the server.

Pre-training the default model ends with a sanity evaluation that loads the exported model and completes
held-out lines exactly as the completion engine would. That loader and that generation loop belong to the
server (`server.model`), and this layer must not import the server, so the caller passes them in as a
`ModelRuntime` (the server's is `server.model.runtime.TransformersRuntime`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Template(Protocol):
    """A model family's fill-in-the-middle prompt layout."""

    @property
    def name(self) -> str: ...

    @property
    def format(self) -> str:
        """The layout, with `{prefix}` and `{suffix}` placeholders."""
        ...


class CodeModel(Protocol):
    """A loaded causal code model, as the engine completes with it."""

    @property
    def model(self) -> Any:
        """The torch module (a `peft` model when an adapter is on top)."""
        ...

    @property
    def tokenizer(self) -> Any:
        """Its `transformers` tokenizer."""
        ...

    @property
    def template(self) -> Template: ...

    @property
    def source(self) -> str:
        """The model directory or hub id it was loaded from."""
        ...

    @property
    def context_length(self) -> int: ...

    @property
    def fim_helps(self) -> bool | None:
        """What the model's own held-out evaluation found about the suffix (None: never measured)."""
        ...


class Generated(Protocol):
    """One completion: its text, how many tokens it took and how long."""

    @property
    def text(self) -> str: ...

    @property
    def tokens(self) -> int: ...

    @property
    def seconds(self) -> float: ...


class ModelRuntime(Protocol):
    """Loading and greedy completion, exactly as the completion engine does them."""

    def load(self, spec: str | Path | None, *, dtype: str = "float32") -> CodeModel:
        """The model `spec` names (None: the shipped default model), its weights as `dtype` ("auto" allowed)."""
        ...

    def complete(
        self,
        model: CodeModel,
        prefix: str,
        suffix: str = "",
        *,
        max_new_tokens: int = 32,
        single_line: bool = False,
        use_fim: bool = True,
        ignore_stop: bool = False,
    ) -> Generated:
        """Greedy completion between `prefix` and `suffix` of a model this runtime loaded."""
        ...

    def default_model_dir(self) -> Path:
        """Where the shipped default model lives."""
        ...

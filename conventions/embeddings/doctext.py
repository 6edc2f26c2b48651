"""The doc of a definition chunk, read apart from its code: the doc's first sentence as a query, the code
without the doc, and the body without the signature (for the ``doc`` and ``name`` pairs of `pairs`, the probe
and the corpus)."""

from __future__ import annotations

import ast
import re
import textwrap

from copilot_index.indexer import Chunk

_COMMENT_MARK = re.compile(r"^\s*(?:/\*\*?|\*/|\*(?!\*)|///?|#(?![\[!])|--)\s?")


def sentence_of(doc: str) -> str | None:
    """The first sentence of a doc text, or None when it is too short or too long to be a query."""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    sentence = re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0].strip()
    if len(sentence.split()) < 3 or len(sentence) > 300:
        return None
    return sentence


def without_own_name(sentence: str, symbol: str) -> str:
    """A doc sentence without the symbol's own name in front ("New returns an error" -> "returns an error").

    Go (and some other) doc comments start with the name, which the chunk header already carries; a user
    searching for behaviour does not know it, so neither does the training query. Kept in, the name alone
    matches the pair, and training learns little about what the code does.
    """
    name = symbol.rsplit(".", 1)[-1]
    if not name:
        return sentence
    return re.sub(rf"^(?:The\s+)?`?{re.escape(name)}(?:\(\))?`?\s+", "", sentence)


def split_doc(chunk: Chunk) -> tuple[str, str, str] | None:
    """(doc, code without the doc, body without the signature) of a definition chunk, or None without a doc."""
    if chunk.language == "python":
        found = _python_doc(chunk.text)
        if found is not None:
            return found
    return _comment_doc(chunk)


def python_definition(text: str) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    """The definition a Python chunk is about, or None when the text is not a definition. A chunk may hold
    several of the same name (`Chunker`): `@overload` signatures before their implementation, which is the one;
    or a property before its setter, which is the property."""
    try:
        body = ast.parse(textwrap.dedent(text)).body
    except (SyntaxError, ValueError):
        return None
    kinds = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    definitions = [node for node in body if isinstance(node, kinds)]
    if not body or not isinstance(body[0], kinds):
        return None
    return next((node for node in definitions if not _is_overload(node)), definitions[-1])


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    return any((isinstance(d, ast.Name) and d.id == "overload") or (isinstance(d, ast.Attribute) and d.attr == "overload")
               for d in node.decorator_list)


def _python_doc(text: str) -> tuple[str, str, str] | None:
    node = python_definition(text)
    if node is None:
        return None
    lines = text.splitlines()
    doc = ast.get_docstring(node, clean=True)
    first = node.body[0]
    if doc is None:
        return None
    rest = node.body[1:]
    code = lines[: first.lineno - 1] + lines[(first.end_lineno or first.lineno) :]
    body = lines[rest[0].lineno - 1 :] if rest else []
    return doc, "\n".join(code), "\n".join(body)


def _comment_doc(chunk: Chunk) -> tuple[str, str, str] | None:
    lines = chunk.text.splitlines()
    doc_lines: list[str] = []
    for line in lines:
        if not line.strip() or not _COMMENT_MARK.match(line):
            break
        doc_lines.append(_COMMENT_MARK.sub("", line).removesuffix("*/").strip())
    code = lines[len(doc_lines) :]
    while code and not code[0].strip():
        code = code[1:]  # a `/** ... */` block may stand one blank line above its code (`Chunker`)
    if not doc_lines or not code:
        return None
    return "\n".join(doc_lines), "\n".join(code), "\n".join(_after_signature(code, chunk.symbol))


def _after_signature(code: list[str], symbol: str) -> list[str]:
    name = symbol.rsplit(".", 1)[-1]
    for i, line in enumerate(code):
        if name and name in line:
            return code[i + 1 :]
    return code[1:]


def body_of(chunk: Chunk) -> str:
    """A definition's code after its signature line, without its doc."""
    split = split_doc(chunk)
    if split is not None:
        return split[2]
    if chunk.language == "python":
        node = python_definition(chunk.text)
        if node is not None:
            return "\n".join(chunk.text.splitlines()[node.body[0].lineno - 1 :])
    return "\n".join(_after_signature(chunk.text.splitlines(), chunk.symbol))

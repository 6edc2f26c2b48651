"""Split files into chunks for embedding and keyword search.

Source files in a language with a query file (`queries/<language>.scm`) are chunked at definition
level with tree-sitter: each function, class, struct, ... becomes one chunk, together with the doc
comments, decorators and attributes directly above it (a `/** ... */` block also across one blank
line). A class longer than `large_class_lines` becomes one chunk per method, each carrying the class
header as context, plus chunks for the rest of the class (header, fields). Top-level code between
definitions becomes "module" chunks, so every non-blank line of a file lands in some chunk.
Everything else is cut into overlapping line windows. Which definitions a file holds is `definitions.py`'s
business.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

from tree_sitter import Parser, Query

from .definitions import COMMENT_STARTS, CONTAINER_KINDS, Definition, container_header, error_bytes, find_definitions
from .languages import definition_query, language_for_path, parser_for

log = logging.getLogger(__name__)

MAX_EMBEDDING_CHARS = 4000
"""`Chunk.embedding_text` is cut to this many characters; the embedder truncates far earlier anyway."""

CHUNKING_VERSION = "6"
"""Changes whenever the same file would be cut differently, named differently or dropped (2: a `/** ... */` block
one blank line above a definition belongs to it; 3: a large source file that is a data literal is skipped; 4: so
is a large bundle or compiled file; 5: Python `@overload` signatures join their implementation's chunk, and a
property's setter joins the property's; 6: a JavaScript `module.exports = function name () {}` is named `name`).
An index chunked by another version re-chunks every file on its next update; unchanged chunks keep their vectors."""

MAX_PARSE_CHARS = 2_000_000
"""Files longer than this are not parsed (minified bundles, generated code); they get line windows."""

_PUNCTUATION = str.maketrans("", "", "{}()[];,")


@dataclass(frozen=True)
class Chunk:
    """One piece of a file, as it is stored, embedded and returned by search."""

    path: str
    """Repository-relative POSIX path."""
    language: str
    """Language name from `languages.py`, or "text"."""
    symbol: str
    """Dotted symbol path ("Class.method", "func"); "" for module code and plain windows."""
    kind: str
    """"function", "method", "class", "struct", "interface", "enum", "trait", "impl", "namespace",
    "type", "module" (top-level code between definitions) or "window" (a plain line window)."""
    start_line: int
    """First line, 1-based, inclusive."""
    end_line: int
    """Last line, 1-based, inclusive."""
    text: str
    """The source text of exactly those lines."""
    context: str = ""
    """For a method of a split class, the class header; for a later window of a long definition,
    also its definition line; else ""."""

    @property
    def content_hash(self) -> str:
        """sha256 over language, symbol, kind, context and text.

        Not over the path or the line numbers, so a moved or shifted chunk keeps its hash."""
        digest = hashlib.sha256()
        for part in (self.language, self.symbol, self.kind, self.context, self.text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    def embedding_text(self) -> str:
        """The text to embed: a one-line header naming path and symbol, the context, then the text."""
        header = f"# {self.path} :: {self.symbol}\n" if self.symbol else f"# {self.path}\n"
        if self.context:
            header += self.context + "\n"
        return (header + self.text)[:MAX_EMBEDDING_CHARS]



class Chunker:
    """Cuts files into `Chunk`s. Parsers and compiled queries are cached per language.

    A Chunker is not thread-safe (tree-sitter parsers are not); use one per thread.
    """

    def __init__(
        self,
        *,
        max_chunk_lines: int = 120,
        window_lines: int = 40,
        window_overlap: int = 10,
        large_class_lines: int = 80,
    ) -> None:
        self.max_chunk_lines = max(1, max_chunk_lines)
        self.window_lines = max(1, window_lines)
        self.window_overlap = max(0, min(window_overlap, self.window_lines - 1))
        self.large_class_lines = max(1, large_class_lines)
        self._parsers: dict[str, Parser] = {}

    def chunk(self, path: str, text: str) -> list[Chunk]:
        """Chunk one file. Never raises: anything that cannot be parsed becomes line windows."""
        if not text.strip():
            return []
        language = language_for_path(path)
        lines = text.split("\n")
        chunks: list[Chunk] | None = None
        if language is not None:
            try:
                chunks = self._chunk_code(path, language, text, lines)
            except Exception:
                log.warning("could not chunk %s by definitions; using line windows", path, exc_info=True)
        if not chunks:
            builder = _FileChunks(self, path, language or "text", lines)
            builder.windows(0, len(lines) - 1, self.window_lines, "", "window", "")
            chunks = builder.out
        return chunks

    def _chunk_code(self, path: str, language: str, text: str, lines: list[str]) -> list[Chunk] | None:
        query = self._query(language)
        if query is None or len(text) > MAX_PARSE_CHARS:
            return None
        source = text.encode("utf-8", "replace")
        root = self._parser(language).parse(source).root_node
        if root.has_error and error_bytes(root) * 2 > len(source):
            return None
        builder = _FileChunks(self, path, language, lines)
        builder.region(0, len(lines) - 1, find_definitions(query, root), "", "module", "", "")
        return builder.out

    def _parser(self, language: str) -> Parser:
        if language not in self._parsers:
            self._parsers[language] = parser_for(language)
        return self._parsers[language]

    def _query(self, language: str) -> Query | None:
        return definition_query(language)


class _FileChunks:
    """Collects the chunks of one file in line order."""

    def __init__(self, chunker: Chunker, path: str, language: str, lines: list[str]) -> None:
        self.chunker = chunker
        self.path = path
        self.language = language
        self.lines = lines
        self.out: list[Chunk] = []

    def region(
        self,
        first: int,
        last: int,
        defs: list[Definition],
        symbol: str,
        gap_kind: str,
        gap_context: str,
        child_context: str,
    ) -> None:
        """Chunk rows first..last: each definition in `defs`, and the code between them as `gap_kind`."""
        cursor = first
        for definition in defs:
            start = max(definition.start, cursor)
            if start > definition.end:
                continue  # shares its only line with the previous definition, which holds it
            self.gap(cursor, start - 1, symbol, gap_kind, gap_context)
            self.definition(definition, start, symbol, child_context)
            cursor = definition.end + 1
        self.gap(cursor, last, symbol, gap_kind, gap_context)

    def definition(self, definition: Definition, start: int, prefix: str, context: str) -> None:
        symbol = ".".join(part for part in (prefix, definition.name) if part)
        size = definition.end - start + 1
        if definition.kind in CONTAINER_KINDS and definition.children and size > self.chunker.large_class_lines:
            header = container_header(definition, self.lines)
            child_context = f"{context}\n{header}" if context else header
            self.region(start, definition.end, definition.children, symbol, definition.kind, context, child_context)
            return
        def_row = definition.core.start_point.row
        later_context = "\n".join(part for part in (context, self.lines[def_row].strip()) if part)
        spans = _spans(start, definition.end, self.chunker.max_chunk_lines, self.chunker.window_overlap)
        for index, (a, b) in enumerate(spans):
            a, b = self.trim(a, b)
            if a <= b:
                self.emit(symbol, definition.kind, a, b, context if index == 0 else later_context)

    def gap(self, first: int, last: int, symbol: str, kind: str, context: str) -> None:
        """Chunk code outside definitions; lines of only braces or `end` join the chunk before them."""
        first, last = self.trim(first, last)
        if first > last:
            return
        if self.out and all(self.trivial(row) for row in range(first, last + 1)):
            previous = self.out[-1]
            self.out[-1] = replace(previous, end_line=last + 1, text=self.text(previous.start_line - 1, last))
            return
        size = self.chunker.window_lines if kind == "module" else self.chunker.max_chunk_lines
        self.windows(first, last, size, symbol, kind, context)

    def windows(self, first: int, last: int, size: int, symbol: str, kind: str, context: str) -> None:
        first, last = self.trim(first, last)
        for a, b in _spans(first, last, size, self.chunker.window_overlap):
            a, b = self.trim(a, b)
            if a <= b:
                self.emit(symbol, kind, a, b, context)

    def emit(self, symbol: str, kind: str, first: int, last: int, context: str) -> None:
        text = self.text(first, last)
        self.out.append(Chunk(self.path, self.language, symbol, kind, first + 1, last + 1, text, context))

    def text(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first : last + 1])

    def trim(self, first: int, last: int) -> tuple[int, int]:
        """Drop blank rows at both ends of first..last (rows past the end of the file count as blank)."""
        last = min(last, len(self.lines) - 1)
        while first <= last and not self.lines[first].strip():
            first += 1
        while last >= first and not self.lines[last].strip():
            last -= 1
        return first, last

    def trivial(self, row: int) -> bool:
        """Whether a row only closes something: `}`, `};`, `end`, `}  // namespace foo`."""
        line = self.lines[row].strip()
        rest = line.translate(_PUNCTUATION).strip()
        if rest.startswith(COMMENT_STARTS) and line[:1] in "})]":
            return True
        return rest in ("", "end") or (rest.startswith("end ") and rest[4:].lstrip().startswith("#"))


def _spans(first: int, last: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Windows of `size` rows over first..last, each overlapping the one before by `overlap` rows."""
    size = max(1, size)
    step = max(1, size - max(0, min(overlap, size - 1)))
    spans: list[tuple[int, int]] = []
    start = first
    while start <= last:
        end = min(last, start + size - 1)
        spans.append((start, end))
        if end >= last:
            break
        start += step
    return spans

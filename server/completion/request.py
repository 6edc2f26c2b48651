"""A completion request (document text and an LSP-style 0-based cursor) and its result."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from copilot_index.indexer import CopilotIndexError, language_for_path


class BadRequestError(CopilotIndexError):
    """A request whose fields or cursor position do not fit its document."""


@dataclass(frozen=True)
class CompletionRequest:
    """What to complete: a document's full text and a cursor (0-based line and code-point character).

    The cursor is checked, and the document split at it, once, when the request is made: a request that
    exists is one whose cursor fits its document (BadRequestError otherwise).
    """

    path: str
    text: str
    line: int
    character: int
    multiline: bool | None = None
    """None: decide from the cursor (a fresh line after a block opener completes a block)."""
    unsaved: tuple[tuple[str, str], ...] = ()
    """(path, text) of other open documents with unsaved changes; for retrieval they replace the index's copy."""
    prefix: str = field(init=False, repr=False)
    """The document before the cursor."""
    suffix: str = field(init=False, repr=False)
    """The document after the cursor."""
    language: str | None = field(init=False)
    """The document's language (None: unknown text)."""

    def __post_init__(self) -> None:
        where = PurePosixPath(self.path.replace("\\", "/"))
        if not self.path or where.is_absolute() or ".." in where.parts or _DRIVE.match(self.path):
            raise BadRequestError(f"path must be relative to the repository root, such as src/app.py, not {self.path!r}.")
        prefix, suffix = self._split()
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "suffix", suffix)
        object.__setattr__(self, "language", language_for_path(self.path))

    @classmethod
    def from_json(cls, data: Any) -> CompletionRequest:
        if not isinstance(data, dict):
            raise BadRequestError("A completion request must be a JSON object with path, text, line and character.")
        missing = [k for k in ("path", "text", "line", "character") if k not in data]
        if missing:
            raise BadRequestError(f"The completion request lacks {', '.join(missing)}; send path, text, line and character.")
        if not isinstance(data["path"], str) or not isinstance(data["text"], str):
            raise BadRequestError("path and text must be strings.")
        for name in ("path", "text"):
            if _has_lone_surrogate(data[name]):
                raise BadRequestError(f"{name} holds a lone UTF-16 surrogate, which is not text; send valid Unicode.")
        if not all(isinstance(data[k], int) and not isinstance(data[k], bool) for k in ("line", "character")):
            raise BadRequestError("line and character must be integers (0-based, as in LSP).")
        multiline = data.get("multiline")
        return cls(data["path"], data["text"], data["line"], data["character"],
                   multiline if isinstance(multiline, bool) else None, _unsaved(data.get("unsaved")))

    def accepted(self, completion: str) -> CompletionRequest:
        """The request at the end of `completion`, once the user has accepted it (for prefetching the next one)."""
        text = self.prefix + completion + self.suffix
        lines = completion.split("\n")
        line = self.line + len(lines) - 1
        character = (self.character if len(lines) == 1 else 0) + len(lines[-1])
        return CompletionRequest(self.path, text, line, character, self.multiline, self.unsaved)

    def split(self) -> tuple[str, str]:
        """(prefix, suffix) of the document at the cursor."""
        return self.prefix, self.suffix

    def _split(self) -> tuple[str, str]:
        lines = self.text.split("\n")
        if self.line < 0 or self.line >= len(lines):
            raise BadRequestError(
                f"Line {self.line} is outside the document, which has {len(lines)} lines (0-based)."
            )
        current = lines[self.line]
        if self.character < 0 or self.character > len(current):
            raise BadRequestError(
                f"Character {self.character} is outside line {self.line}, which has {len(current)} characters."
            )
        offset = sum(len(line) + 1 for line in lines[: self.line]) + self.character
        return self.text[:offset], self.text[offset:]


_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unsaved(value: Any) -> tuple[tuple[str, str], ...]:
    """The optional `unsaved` field: [{"path", "text"}, ...] of other documents with unsaved changes."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(d, dict) and isinstance(d.get("path"), str) and isinstance(d.get("text"), str) for d in value
    ):
        raise BadRequestError('unsaved must be a list of {"path": ..., "text": ...} objects.')
    if any(_has_lone_surrogate(d["path"]) or _has_lone_surrogate(d["text"]) for d in value):
        raise BadRequestError("unsaved holds a lone UTF-16 surrogate, which is not text; send valid Unicode.")
    return tuple((d["path"], d["text"]) for d in value)


@dataclass(frozen=True)
class Source:
    path: str
    start_line: int
    end_line: int


@dataclass
class CompletionResult:
    """The `copilot-index complete --json` answer."""

    completion: str
    sources: list[Source] = field(default_factory=list)
    guard: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    cached: bool = False
    stop_reason: str = ""
    blocked: bool = False
    """A guard blocked the suggestion (`completion` is then empty)."""
    confidence: float | None = None
    """The model's geometric mean token probability for what it wrote (None from Ollama or an OpenAI-compatible
    server); from the cache, that of the suggestion it continues."""
    withheld: bool = False
    """Its confidence was below `completion.min_confidence` (`completion` is then empty)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "completion": self.completion,
            "sources": [asdict(s) for s in self.sources],
            "guard": self.guard,
            "latency_ms": round(self.latency_ms, 2),
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "withheld": self.withheld,
        }


def wants_block(prefix: str, suffix: str) -> bool:
    """Multi-line (block) mode when the cursor sits on an empty line right after a block opener."""
    line_before = prefix.rsplit("\n", 1)[-1]
    rest_of_line = suffix.split("\n", 1)[0]
    if line_before.strip() or rest_of_line.strip():
        return False
    previous = prefix.rstrip(" \t").rstrip("\n").rsplit("\n", 1)[-1].rstrip()
    return previous.endswith((":", "{", "(", "[", "=>", " do", "->"))


def cut_block(text: str, prefix: str) -> str:
    """Keep a multi-line suggestion up to the end of its block: stop at the first line that dedents
    below the cursor's indentation, or at a blank line followed by a dedent."""
    cursor_line = prefix.rsplit("\n", 1)[-1]
    base = len(cursor_line) - len(cursor_line.lstrip(" \t")) if not cursor_line.strip() else None
    lines = text.split("\n")
    if base is None:
        indent = len(lines[0]) - len(lines[0].lstrip(" \t"))
        base = len(cursor_line) + indent
    kept: list[str] = [lines[0]]
    for line in lines[1:]:
        if line.strip() and len(line) - len(line.lstrip(" \t")) < base:
            break
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)

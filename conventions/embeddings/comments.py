"""Comments inside a function's body, each paired with that function (``comment`` pairs).

A docstring says what a whole function does; the comments in its body say what its steps do ("Search for app
factory functions."), in the words people search with. Where a repository documents little, they are most of
what it says about its code in English. A block of line comments counts when it reads as prose: at least
`MIN_WORDS` words, not commented-out code, not a lint, type or formatter directive, not a TODO. It is paired
with the function's code without that block (and without the doc), so the embedder cannot simply match the
comment's words to themselves; `pairs.PairMiner` takes the first `max_per_definition` blocks of each function.
"""

from __future__ import annotations

import re

from copilot_index.indexer import comment_prefix

MIN_WORDS = 4
_DIRECTIVE = re.compile(
    r"^(?:todo|fixme|xxx|hack|noqa|type:|pragma|pylint|nolint|eslint|prettier|istanbul|ts-|go:|\+build|nosec|fmt:"
    r"|isort:|mypy|coverage|skipcq|cspell|@ts-|jshint|jscs|global\b|exported\b|-\*-|!)",
    re.IGNORECASE,
)
_CODE_LINE = re.compile(
    r"[;{}(\[]\s*$"  # ends like a statement or an open bracket
    r"|^\s*(?:return|import|from|def|func|var|let|const|elif|else|try|except|raise|yield)\b(?!\s+(?:a|an|the)\b)"
    r"|^\s*[\w.\[\]'\"]+\s*(?:[-+*/|&]?=|:=|==|!=|=>)\s*\S"  # an assignment or a comparison
    r"|^\s*[\w.]+\([^()]*\)\s*$"  # a bare call
    r"|^\s*(?:@\w|[)\]}])"
)


def body_comments(code: str, language: str | None) -> list[tuple[str, str]]:
    """(comment text, code without that comment) for each prose comment block after the first line.

    `code` is a definition's text without its doc; its first line (the signature) is never read as a comment.
    A line of commented-out code or a directive ends a block, so a sentence next to one still counts.
    """
    marker = comment_prefix(language)
    lines = code.splitlines()
    found: list[tuple[str, str]] = []
    block: dict[int, str] = {}
    for i in range(1, len(lines) + 1):
        text = _comment_text(lines[i], marker) if i < len(lines) else None
        if text is not None and not _CODE_LINE.search(text) and not _DIRECTIVE.match(text):
            block[i] = text
            continue
        joined = " ".join(" ".join(block.values()).split())
        if len(re.findall(r"[A-Za-z]{2,}", joined)) >= MIN_WORDS:
            found.append((joined, "\n".join(line for k, line in enumerate(lines) if k not in block)))
        block = {}
    return found


def _comment_text(line: str, marker: str) -> str | None:
    """The text of a whole-line comment (`#:` attribute comments too), or None for code and banners."""
    stripped = line.strip()
    if not stripped.startswith(marker) or stripped.startswith(marker + marker[-1:] * 2):
        return None
    return stripped[len(marker) :].removeprefix(":").strip()

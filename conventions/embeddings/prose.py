"""Sentences of a repository's own documentation that name one of its definitions (``prose`` pairs).

A README or a guide says what the code does in the words a user searches with ("Use
``before_request`` to register a function that runs before each request."). A sentence that names exactly
one definition of the repository's code is found here with that definition; `pairs.PairMiner` pairs the
sentence, its markup removed, with the definition's code without its doc. A name counts as inline code
(Markdown `name`, reStructuredText ``name`` or :meth:`~pkg.Class.name`) or bare when it cannot be an English
word (camelCase, snake_case, `name()`). A name defined more than once is resolved by its dotted path when the
sentence gives one, else the sentence is skipped; a definition answers at most `max_per_definition`
sentences, so a class the whole manual talks about does not crowd out the rest.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from copilot_index.indexer import Chunk

MAX_SENTENCE_CHARS = 600
"""Longer "sentences" are tables or run-on markup, not something a user would type (and regexes stay cheap)."""
PROSE_LANGUAGES = frozenset({"markdown", "rst"})
DEFINITION_KINDS = frozenset({"function", "method", "class", "struct", "interface", "trait", "enum", "type"})
"""Chunk kinds that define something a query can be about (`pairs` mines them too)."""
_FENCE = re.compile(r"^\s*(```|~~~)")
_SKIP_LINE = re.compile(r"^(?:\s*\.\. |\s*[|>]|\s*[=\-~^*#+`]{3,}\s*$|#{1,6}\s|\s*<)")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`:*\[])")
_RST_ROLE = re.compile(r":(?:[\w-]+:)?[\w-]+:`([^`]+)`")
_DOUBLE_TICKS = re.compile(r"``([^`]+)``")
_TICKS = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|`([^`<]+?)\s*<[^>]+>`_+")
_EMPHASIS = re.compile(r"\*{1,2}([^*\n]+)\*{1,2}")
_BARE = re.compile(r"(?<![\w./#@-])(?:[A-Za-z]\w*\.)*(?:[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*|[A-Za-z]+_\w+|[A-Za-z]\w*\(\))")
"""camelCase, CamelCase with a second capital, snake_case, or a name called with (): a name, not a word."""
_CHANGELOG_NOISE = (
    re.compile(r"^\s*\[[A-Za-z ]+\]:?\s*"),  # [FIX], [NEW], [BREAKING]
    re.compile(r"^\s*[a-z]+(?:\([^)]*\))?!?:\s+"),  # feat(binding): chore: docs(middleware):
    re.compile(r"\(\s*(?:(?:Pull|PR|issue)\s*)?#\w+\s*\)|(?<!\w)#\d+\b|\(@[\w-]+\)", re.IGNORECASE),  # (#123) (@user)
)
_IDENTIFIER = re.compile(r"^[~.]?[A-Za-z_][\w.]*(?:\(\))?$")
_RELEASE_NOTES = re.compile(r"(?i)^(?:changes?|changelog|change[-_]log|history|news|releases?|release[-_]notes)$")
"""File names (without the extension) of release notes: they name a function to say it changed, not what it does."""


def named_definitions(
    chunks: list[Chunk],
    is_test_path: Callable[[str], bool],
    max_per_definition: int = 6,
    min_words: int = 5,
    max_words: int = 60,
) -> list[tuple[str, Chunk]]:
    """(sentence without markup, the definition chunk it names) from the documentation chunks among `chunks`."""
    definitions = _definitions(chunks, is_test_path)
    found: list[tuple[str, Chunk]] = []
    used: dict[tuple[str, str], int] = defaultdict(int)
    for text in _documents(chunks, is_test_path):
        for sentence in _sentences(text):
            if not min_words <= len(sentence.split()) <= max_words or len(sentence) > MAX_SENTENCE_CHARS:
                continue
            named = [hit for hit in (_lookup(name, definitions) for name in _mentions(sentence)) if hit]
            targets = {(hit[0].path, hit[0].symbol): hit[0] for hit in named}
            if len(targets) != 1 or any(len(hit) > 1 for hit in named):
                continue  # names no definition, several, or one it cannot tell from another of that name
            [target] = targets.values()
            key = (target.path, target.symbol)
            if used[key] >= max_per_definition:
                continue
            used[key] += 1
            found.append((_plain(sentence), target))
    return found


def _definitions(chunks: Iterable[Chunk], is_test_path: Callable[[str], bool]) -> dict[str, list[Chunk]]:
    """Definition chunks of the code (tests left out), by their last name; a long definition's first chunk."""
    by_name: dict[str, list[Chunk]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for chunk in chunks:
        if chunk.kind not in DEFINITION_KINDS or not chunk.symbol or chunk.language in PROSE_LANGUAGES:
            continue
        if is_test_path(chunk.path) or (chunk.path, chunk.symbol) in seen:
            continue
        seen.add((chunk.path, chunk.symbol))
        by_name[chunk.symbol.rsplit(".", 1)[-1]].append(chunk)
    return by_name


def _documents(chunks: Iterable[Chunk], is_test_path: Callable[[str], bool]) -> list[str]:
    """The prose files' text, each file whole again (chunks in order; overlapping windows kept once); release
    notes left out."""
    files: dict[str, dict[int, str]] = defaultdict(dict)
    for chunk in chunks:
        name = chunk.path.rsplit("/", 1)[-1].split(".", 1)[0]
        if chunk.language in PROSE_LANGUAGES and not is_test_path(chunk.path) and not _RELEASE_NOTES.match(name):
            lines = files[chunk.path]
            for number, line in enumerate(chunk.text.splitlines(), chunk.start_line):
                lines.setdefault(number, line)
    return ["\n".join(lines[n] for n in sorted(lines)) for lines in files.values()]


def _sentences(text: str) -> list[str]:
    """Sentences of the prose paragraphs: code blocks, directives, tables and headings left out."""
    paragraphs: list[list[str]] = [[]]
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        continues = bool(paragraphs[-1]) and not _LIST_MARK.match(line)  # a wrapped line of the sentence above
        indented_code = line.startswith(("    ", "\t")) and not continues
        if fenced or not line.strip() or indented_code or _SKIP_LINE.match(line):
            paragraphs.append([])
            continue
        if _LIST_MARK.match(line):
            paragraphs.append([])
        paragraphs[-1].append(_LIST_MARK.sub("", line).strip())
    found: list[str] = []
    for paragraph in paragraphs:
        if paragraph and not paragraph[-1].endswith("::"):
            found += [s.strip() for s in _SENTENCE_END.split(" ".join(paragraph)) if s.strip()]
    return found


def _mentions(sentence: str) -> list[str]:
    """The identifiers a sentence gives as inline code, or bare when they cannot be English words."""
    spans = _RST_ROLE.findall(sentence) + _DOUBLE_TICKS.findall(sentence)
    rest = _DOUBLE_TICKS.sub(" ", _RST_ROLE.sub(" ", sentence))
    spans += _TICKS.findall(rest)
    spans += _BARE.findall(_TICKS.sub(" ", _LINK.sub(" ", rest)))
    names = []
    for span in spans:
        span = re.sub(r"^.*<([^>]+)>$", r"\1", span.strip())
        if _IDENTIFIER.match(span):
            names.append(span.lstrip("~").removesuffix("()").strip("."))
    return names


def _lookup(name: str, definitions: dict[str, list[Chunk]]) -> list[Chunk]:
    """The definitions a mentioned name may mean: one when it is clear, none when it is not the repository's.

    `Class.method` whose method has no chunk of its own (a small class is one chunk) means the class.
    """
    parts = name.split(".")
    for end in range(len(parts), max(0, len(parts) - 2), -1):
        if len(parts[end - 1]) >= 3 and parts[end - 1] in definitions:
            candidates = definitions[parts[end - 1]]
            if len(candidates) > 1 and end >= 2:
                candidates = [c for c in candidates if _dotted_match(parts[:end], c)] or candidates
            return candidates
    return []


def _dotted_match(parts: list[str], chunk: Chunk) -> bool:
    """Whether `pkg.module.Class.name` names `chunk`: the dotted tail agrees with its module path and symbol."""
    full = chunk.path.rsplit(".", 1)[0].split("/") + chunk.symbol.split(".")
    depth = min(len(parts), len(full))
    return depth >= 2 and parts[-depth:] == full[-depth:]


def _plain(sentence: str) -> str:
    """A sentence as a user would type it: roles, ticks, links and emphasis markup removed."""
    text = _RST_ROLE.sub(lambda m: _display(m.group(1)), sentence)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _DOUBLE_TICKS.sub(r"\1", text)
    text = _TICKS.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text).replace("\\", "")
    for noise in _CHANGELOG_NOISE:  # what a changelog line says about the release, not about the code
        text = noise.sub(" ", text)
    return " ".join(text.split())


def _display(span: str) -> str:
    titled = re.match(r"^(.*?)\s*<[^>]+>$", span.strip())
    if titled:
        return titled.group(1)
    return span.strip().lstrip("~").rsplit(".", 1)[-1] if span.strip().startswith("~") else span.strip()

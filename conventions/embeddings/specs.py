"""``test`` pairs from JavaScript and TypeScript specs (mocha, jest, jasmine, QUnit).

A spec names the behaviour it checks in a title string, not in a function name:
``it('sets the Authorization header', () => { ... })`` inside ``describe('req.auth(user, pass)', ...)``. So the
test-name rule of Python and Go (`PairMiner._test_pairs`) finds nothing in a JavaScript repository. A spec
becomes a pair when one function of the repository, defined once outside the tests, is both named in the
spec's title or an enclosing group's title and called in the spec's body: the title -> that function. Titles
of fewer than `MIN_TITLE_WORDS` words ("with 1 arg", "delete()") say too little to be a query, and at most
`PER_TARGET` specs point at one function, so a heavily tested function does not crowd out the rest.

The spec query is data (`queries/specs.scm`); it runs on the indexer's parsers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tree_sitter import Node, Query, QueryCursor

from copilot_index.indexer import Chunk, languages

SPEC_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})
"""Languages whose test files are read for specs."""
PER_TARGET = 3
"""Specs paired with one function at most (the first ones, in file order)."""
MIN_TITLE_WORDS = 3
_TEST_CALLS = frozenset({"it", "test", "specify", "it.only", "test.only", "QUnit.test", "QUnit.only"})
_GROUP_CALLS = frozenset({"describe", "context", "suite", "describe.only", "QUnit.module"})
_CALLED = re.compile(r"\b([A-Za-z_$][\w$]*)\s*\(")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_WORD = re.compile(r"[A-Za-z]{2,}")
_SHOULD = re.compile(r"^\s*should\s+", re.IGNORECASE)
_MAX_BODY_BYTES = 20_000
"""A spec longer than this is not read (real ones are a few lines; nested ones would be read again and again)."""
_MAX_DEPTH = 500
"""Specs are looked for this deep in the syntax tree at most: some hundred levels of `describe`. Past some
thousands of nested calls (a hostile file) tree-sitter's matching slows down by orders of magnitude."""
_MAX_GROUPS = 8
"""Enclosing group titles kept per spec, innermost first (a hostile file nests thousands)."""


@dataclass(frozen=True)
class Spec:
    title: str
    groups: tuple[str, ...]
    """Titles of the enclosing group calls, innermost first."""
    body: str


def specs(text: str, language: str) -> list[Spec]:
    """The specs of one test file; [] for a language without specs or a file without any."""
    query = _query(language)
    if query is None:
        return []
    tree = languages.parser_for(language).parse(text.encode("utf-8", "surrogatepass"))
    calls = []
    cursor = QueryCursor(query)
    cursor.set_max_start_depth(_MAX_DEPTH)
    for _, captures in cursor.matches(tree.root_node):
        runner = _text(captures["runner"][0])
        if runner in _TEST_CALLS or runner in _GROUP_CALLS:
            calls.append((runner in _GROUP_CALLS, captures["title"][0], captures["body"][0]))
    calls.sort(key=lambda call: call[2].start_byte)
    # Walking up from a spec (`Node.parent`) costs the tree's depth at every step; the groups a spec sits in
    # are the open ones in one pass over the calls in source order instead.
    groups: list[tuple[int, str]] = []  # (where a group's function ends, its title), outermost first
    found = []
    for is_group, title, body in calls:
        while groups and groups[-1][0] <= body.start_byte:
            groups.pop()
        if is_group:
            groups.append((body.end_byte, _title(title)))
        elif body.end_byte - body.start_byte <= _MAX_BODY_BYTES:
            enclosing = tuple(group for _, group in reversed(groups[-_MAX_GROUPS:]))
            found.append(Spec(_title(title), enclosing, _text(body)))
    return found


def spec_targets(sources: Iterable[tuple[str, str]], functions: Mapping[str, Chunk]) -> list[tuple[str, Chunk]]:
    """(query, function) for the specs of `sources` (language, text) whose function is found.

    `functions`: the repository's functions outside the tests whose (unqualified) name is defined only once."""
    per_target: Counter[str] = Counter()
    found = []
    for language, text in sources:
        for spec in specs(text, language):
            query = " ".join(_SHOULD.sub("", spec.title).split())
            if len(_WORD.findall(query)) < MIN_TITLE_WORDS:
                continue
            name = _named_and_called(spec, functions)
            if name is not None and per_target[name] < PER_TARGET:
                per_target[name] += 1
                found.append((query, functions[name]))
    return found


def _named_and_called(spec: Spec, functions: Mapping[str, Chunk]) -> str | None:
    """The longest function name that the innermost title naming one mentions and the spec's body calls."""
    called = {match.group(1) for match in _CALLED.finditer(spec.body)}
    for title in (spec.title, *spec.groups):
        names = [word for word in _IDENTIFIER.findall(title) if word in called and word in functions]
        if names:
            return max(names, key=len)
    return None


def _title(node: Node) -> str:
    return _text(node)[1:-1]


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


@cache
def _query(language: str) -> Query | None:
    if language not in SPEC_LANGUAGES:
        return None
    source = (resources.files(__package__) / "queries" / "specs.scm").read_text(encoding="utf-8")
    return Query(languages.parser_for(language).language, source)

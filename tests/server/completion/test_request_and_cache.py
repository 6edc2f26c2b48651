from __future__ import annotations

import pytest

from copilot_index.server.completion.cache import SuggestionCache
from copilot_index.server.completion.request import (
    BadRequestError,
    CompletionRequest,
    cut_block,
    wants_block,
)

DOC = "def area(r):\n    return 3.14 * r\n"


def test_split_at_cursor() -> None:
    prefix, suffix = CompletionRequest("a.py", DOC, 1, 11).split()
    assert prefix == "def area(r):\n    return " and suffix == "3.14 * r\n"


@pytest.mark.parametrize(("line", "character", "words"), [(5, 0, "outside the document"), (1, 99, "outside line 1"),
                                                          (-1, 0, "outside the document")])
def test_out_of_range_positions_get_one_sentence(line: int, character: int, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        CompletionRequest("a.py", DOC, line, character).split()


@pytest.mark.parametrize(
    "data", [[], {"path": "a.py"}, {"path": 1, "text": "", "line": 0, "character": 0},
             {"path": "a.py", "text": "", "line": "0", "character": 0}],
)
def test_malformed_requests(data: object) -> None:
    with pytest.raises(BadRequestError):
        CompletionRequest.from_json(data)


def test_block_mode_and_cut() -> None:
    assert wants_block("def f(x):\n    ", "\n")
    assert not wants_block("def f(x):\n    return ", "\n")
    assert not wants_block("x = 1\n", "")
    generated = "if x:\n        return 1\n    return 2\n\ndef g():\n    pass"
    assert cut_block(generated, "def f(x):\n    ") == "if x:\n        return 1\n    return 2"


def test_cache_reuses_a_suggestion_while_its_characters_are_typed() -> None:
    cache = SuggestionCache()
    cache.put("a.py", "x = comp", "\n", "ute(value)")
    assert cache.get("a.py", "x = comp", "\n") == "ute(value)"
    assert cache.get("a.py", "x = compu", "\n") == "te(value)"
    assert cache.get("a.py", "x = compute(", "\n") == "value)"
    assert cache.get("a.py", "x = compx", "\n") is None
    assert cache.get("b.py", "x = comp", "\n") is None
    assert cache.get("a.py", "x = compute(value)", "\n") is None  # nothing left to suggest


def test_accepting_a_suggestion_moves_the_cursor_past_it() -> None:
    request = CompletionRequest("a.py", "def f(x):\n    return \n", 1, 11)
    one_line = request.accepted("x + 1")
    assert (one_line.line, one_line.character) == (1, 16) and one_line.prefix == "def f(x):\n    return x + 1"
    block = CompletionRequest("a.py", "def f(x):\n    \n", 1, 4).accepted("if x:\n        return 1")
    assert (block.line, block.character) == (2, 16) and block.suffix == "\n"


def test_the_cache_keeps_the_shown_suggestion_and_its_prefetched_follow_up() -> None:
    cache = SuggestionCache()
    cache.put("a.py", "def f(x):\n    return ", "\n", "x + 1")
    cache.put("a.py", "def f(x):\n    return x + 1", "\n", "  # done")  # prefetched, same text after the cursor
    assert cache.get("a.py", "def f(x):\n    return x", "\n") == " + 1"  # typing into the shown one still hits
    assert cache.get("a.py", "def f(x):\n    return x + 1", "\n") == "  # done"  # accepting it hits the follow-up

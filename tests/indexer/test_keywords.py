from __future__ import annotations

import pytest

from copilot_index.indexer.keywords import fts_query, keyword_text, query_terms, split_identifier


@pytest.mark.parametrize(
    ("identifier", "parts"),
    [
        ("parseHTTPHeader", ["parse", "http", "header"]),
        ("parse_http_header", ["parse", "http", "header"]),
        ("ParseHttpHeader", ["parse", "http", "header"]),
        ("XMLHttpRequest2", ["xml", "http", "request", "2"]),
        ("__init__", ["init"]),
    ],
)
def test_split_identifier(identifier: str, parts: list[str]) -> None:
    assert split_identifier(identifier) == parts


def test_keyword_text_keeps_whole_identifier_and_parts() -> None:
    words = keyword_text("def parseHTTPHeader(raw_line):").split()
    assert {"parsehttpheader", "parse", "http", "header", "raw_line", "raw", "line"} <= set(words)


def test_query_terms_drop_stop_words_and_dedupe() -> None:
    assert query_terms("How do I parse the HTTP header of a parse_http_header call?") == [
        "parse", "http", "header", "parse_http_header", "call",
    ]
    assert fts_query("the of a") is None
    assert fts_query('say "hi" there') == '"say" OR "hi"'

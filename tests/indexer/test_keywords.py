from __future__ import annotations

import pytest

from copilot_index.indexer.keywords import fts_query, keyword_text, name_terms, query_stems, query_terms, split_identifier


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


@pytest.mark.parametrize(
    ("symbol", "query", "shared"),
    [
        ("Client.options", "Send an `OPTIONS` request.", {"option"}),
        ("Context.GetFloat32", "returns the value associated with the key as a float32.", {"float", "32"}),
        ("encodeMsgPack", "encodes the given object as MsgPack", {"encod", "msg", "pack"}),
        ("send_static_file", "The view function used to serve files", {"file"}),
    ],
)
def test_name_terms_meet_the_query_words_that_name_them(symbol: str, query: str, shared: set[str]) -> None:
    assert name_terms(symbol) & query_stems(query) == shared


def test_name_terms_are_the_definitions_own_name_without_stop_words() -> None:
    assert name_terms("Context.GetFloat32") == {"float", "32"}  # "get" is a stop word, "Context" the container
    assert name_terms("") == frozenset()
    assert name_terms("handle_closed") == name_terms("handling_close") == {"handl", "clos"}

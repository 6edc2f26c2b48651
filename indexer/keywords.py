"""Identifier-aware keyword text: `parseHTTPHeader` and `parse_http_header` both match "parse http header"."""

from __future__ import annotations

import re

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|\b|_)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its of on or so such "
    "that the their then there these this to was were what when where which while who why will with "
    "you your return returns self none true false do does can should given using use used get gets".split()
)


def split_identifier(identifier: str) -> list[str]:
    """Lower-case word parts of an identifier: camelCase, PascalCase, snake_case, ACRONYMS and digits."""
    return [part.lower() for part in _PARTS.findall(identifier)]


def keyword_text(text: str) -> str:
    """Text for the FTS index: each identifier as a whole word, followed by its parts when it has several."""
    out: list[str] = []
    for ident in _IDENT.findall(text):
        parts = split_identifier(ident)
        whole = ident.lower().strip("_")
        if whole:
            out.append(whole)
        if len(parts) > 1:
            out.extend(parts)
    return " ".join(out)


def query_terms(query: str) -> list[str]:
    """Distinct search terms of a query: identifier parts and whole identifiers, minus stop words."""
    terms: list[str] = []
    for ident in _IDENT.findall(query):
        candidates = [ident.lower().strip("_"), *split_identifier(ident)]
        for term in candidates:
            if term and term not in STOP_WORDS and term not in terms and (len(term) > 1 or term.isdigit()):
                terms.append(term)
    return terms


def stem(word: str) -> str:
    """A light suffix strip, so that "options" meets "option" and "encodes", "encoded" and "encoding" meet
    "encode" (all become "encod")."""
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def name_terms(symbol: str) -> frozenset[str]:
    """Stemmed word parts of a definition's own name (the last part of `Class.method`), stop words left out."""
    parts = split_identifier(symbol.rsplit(".", 1)[-1])
    return frozenset(stem(part) for part in parts if part not in STOP_WORDS)


def query_stems(query: str) -> frozenset[str]:
    """Stemmed search terms of a query, to compare with `name_terms`."""
    return frozenset(stem(term) for term in query_terms(query))


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression OR-ing the query's terms (each quoted), or None if nothing is left."""
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', "") + '"' for term in terms)

"""Hard negatives from keyword search: for each query, the best BM25 match among the other pairs' code.

A hard negative shares words with the query but is not its answer, so the embedder learns to look past
surface overlap. The ranking is the product's own keyword search (SQLite FTS5 over the identifier-aware
keyword text), run over an in-memory table of the training code.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlean

from copilot_index.indexer import fts_query, keyword_text

from .pairs import Pair

CANDIDATES = 8
"""Keyword hits looked at per query before giving up on finding a negative."""


def hard_negatives(pairs: Sequence[Pair]) -> list[str | None]:
    """For each pair, a code text of another pair that keyword search ranks high for its query (or None).

    A candidate is never the pair's own code, nor the code of any pair with the same query, nor code
    from the same file (often the right answer's own helper).
    """
    codes = list(dict.fromkeys(p.positive for p in pairs))
    answers: dict[str, set[str]] = {}
    files: dict[str, set[str]] = {}
    for pair in pairs:
        answers.setdefault(_norm(pair.query), set()).add(pair.positive)
        files.setdefault(pair.positive, set()).add(pair.path)
    conn = sqlean.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE code USING fts5(body)")
        conn.executemany("INSERT INTO code(rowid, body) VALUES (?, ?)",
                         [(i, keyword_text(code)) for i, code in enumerate(codes)])
        found: list[str | None] = []
        for pair in pairs:
            match = fts_query(pair.query)
            negative = None
            if match is not None:
                rows = conn.execute("SELECT rowid FROM code WHERE code MATCH ? ORDER BY bm25(code) LIMIT ?",
                                    (match, CANDIDATES)).fetchall()
                wrong = answers[_norm(pair.query)]
                for (row,) in rows:
                    code = codes[row]
                    if code not in wrong and pair.path not in files[code]:
                        negative = code
                        break
            found.append(negative)
        return found
    finally:
        conn.close()


def _norm(query: str) -> str:
    return " ".join(query.lower().split())

"""HybridSearch: dense (sqlite-vec), keyword (FTS5 bm25) and a tuned fusion of both.

Dense search over small indexes is an exact float KNN scan in sqlite-vec (vec0). Over
large ones it uses a bit-quantized prefilter (Hamming distance of sign bits, one bit per
dimension, held in memory and reloaded when another connection changes the index) and
rescores the survivors with exact float cosine. Results never overlap: a chunk whose
lines overlap a better result of the same file is dropped.

Hybrid ranking adds four signals to the fused score (weights in `IndexConfig`, measured by
tests/benchmarks/bench_search_ablation.py): the share of a definition's own name that the query
mentions, a penalty for prose, data and configuration chunks unless the query asks for documentation,
a penalty for test files unless it asks for tests, and one for type declaration files (`.d.ts`, `.pyi`), which
repeat the docs of the code they describe, unless it asks for types (measured on mongoose:
docs/search-quality.md).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from .config import IndexConfig
from .embedder import Embedder
from .keywords import fts_query, name_terms, query_stems, query_terms
from .languages import is_code
from .store import ChunkStore

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[str, ...] = ("hybrid", "dense", "keyword")

EXACT_LIMIT = 10_000
"""Up to this many chunks, dense search is an exact float scan; above, bit prefilter + rescoring."""
PREFILTER_FACTOR = 16
"""Candidates taken from the bit prefilter per result wanted (at least PREFILTER_MIN)."""
PREFILTER_MIN = 200
CANDIDATES = 60
"""Candidates each retriever contributes to hybrid fusion."""
KEYWORD_POOL = 1000
"""Keyword matches scored per hybrid query, to give dense hits their bm25 (IN-lists on FTS5 are slow)."""
DOC_TERMS = frozenset("doc docs documentation documented readme guide guides tutorial changelog example examples".split())
"""Query words that ask for prose: then prose chunks are not held back."""
TEST_TERMS = frozenset("test tests tested testing fixture fixtures mock mocks spec specs".split())
"""Query words that ask for tests: then test files are not held back."""
TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|spec|testdata)/|_test\.\w+$|(^|/)test_[^/]*$|\.(test|spec)\.\w+$")
"""Paths of test files: a `tests/` folder, `*_test.go`, `test_*.py`, `*.test.js`, ..."""
DECLARATION_TERMS = frozenset("type types typing typings typed declaration declarations declare stub stubs".split())
"""Query words that ask for type declarations: then declaration files are not held back."""
DECLARATION_PATH = re.compile(r"\.d\.[mc]?ts$|\.pyi$")
"""Type declaration files: TypeScript's `*.d.ts` (and `.d.mts`, `.d.cts`), Python's `*.pyi` stubs."""


@dataclass
class SearchResult:
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    language: str
    score: float
    text: str

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        return data


class HybridSearch:
    """Answers queries over one ChunkStore."""

    def __init__(self, store: ChunkStore, embedder: Embedder, config: IndexConfig | None = None) -> None:
        config = config or IndexConfig()
        self.store = store
        self.embedder = embedder
        self.dense_weight = config.dense_weight
        self.symbol_weight = config.symbol_weight
        self.prose_penalty = config.prose_penalty
        self.test_penalty = config.test_penalty
        self.declaration_penalty = config.declaration_penalty
        self._last_query: tuple[str, bytes] | None = None
        self._bits = BitPrefilter(store)

    def _query_vector(self, text: str) -> bytes:
        """The query's embedding, computed once per query text (hybrid asks for it twice)."""
        if self._last_query is None or self._last_query[0] != text:
            self._last_query = (text, self.embedder.embed_query(text).astype(np.float32).tobytes())
        return self._last_query[1]

    def query_embedding(self, text: str) -> np.ndarray:
        """The (cached) embedding of a query text, as the dense search uses it."""
        return np.frombuffer(self._query_vector(text), dtype=np.float32)

    def query(
        self,
        text: str,
        k: int = 10,
        mode: Mode = "hybrid",
        language: str | None = None,
        path_glob: str | None = None,
        exclude_path: str | None = None,
    ) -> list[SearchResult]:
        """The `k` best chunks for `text`; none of `exclude_path` (a completion's own file, whose chunks would
        otherwise fill the places of other files' code), whose chunk count widens the candidate pool instead."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}")
        allowed = self._filter_ids(language, path_glob)
        if allowed is not None and not allowed:
            return []
        want = max(k * 4, CANDIDATES)
        if exclude_path is not None:
            want += len(self.store.chunk_hashes(exclude_path))
        if mode == "keyword":
            scores = self._keyword(text, want, allowed)
        elif mode == "dense":
            scores = self._dense(text, want, allowed)
        else:
            scores = self._rerank(text, self._hybrid(text, want, allowed))
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        return self._materialise(ranked, k, exclude_path)

    # -- retrievers ---------------------------------------------------------------------------------

    def _dense(self, text: str, want: int, allowed: set[int] | None) -> dict[int, float]:
        if self.store.dimension is None:
            return {}
        return self.dense_by_vector(self._query_vector(text), want, allowed)

    def dense_by_vector(self, vector: bytes, want: int, allowed: set[int] | None = None) -> dict[int, float]:
        """Chunk id -> cosine similarity of the `want` nearest chunks to a float32 query vector."""
        if allowed is not None and len(allowed) <= EXACT_LIMIT:
            return self._rescore(vector, allowed, want)
        total = self.store.count("chunks")
        fetch = want if allowed is None else want * 8
        if total <= EXACT_LIMIT:
            scores = {chunk_id: 1.0 - dist for chunk_id, dist in self.store.nearest(vector, fetch)}
        else:
            prefilter = max(PREFILTER_MIN, fetch * PREFILTER_FACTOR // 4)
            scores = self._rescore(vector, self._bits.nearest(vector, prefilter), fetch)
        if allowed is not None:
            scores = {i: s for i, s in scores.items() if i in allowed}
        return scores

    def _rescore(self, vector: bytes, ids: set[int] | list[int], want: int) -> dict[int, float]:
        """Exact cosine similarity for the given chunk ids; the best `want` of them."""
        scores = {chunk_id: 1.0 - dist for chunk_id, dist in self.store.cosine_distances(vector, ids)}
        best = sorted(scores.items(), key=lambda item: -item[1])[:want]
        return dict(best)

    def _keyword(self, text: str, want: int, allowed: set[int] | None) -> dict[int, float]:
        match = fts_query(text)
        if match is None:
            return {}
        scores = dict(self.store.keyword_matches(match, want if allowed is None else want * 8))
        if allowed is not None:
            scores = {i: s for i, s in scores.items() if i in allowed}
        return dict(sorted(scores.items(), key=lambda item: -item[1])[:want])

    def _hybrid(self, text: str, want: int, allowed: set[int] | None) -> dict[int, float]:
        """Weighted sum of the dense cosine and the max-normalised bm25 score over both candidate sets."""
        dense = self._dense(text, want, allowed)
        # FTS5 scores every match to find the top ones, so a deep pool costs little more than `want`
        # rows; it supplies the bm25 of dense hits outside the keyword top (beyond it they count 0).
        pool = self._keyword(text, max(want, KEYWORD_POOL), allowed)
        keyword = dict(list(pool.items())[:want])
        union = set(dense) | set(keyword)
        if not union:
            return {}
        vector = self._query_vector(text)
        missing_dense = [i for i in union if i not in dense]
        if missing_dense:
            dense.update(self._rescore(vector, missing_dense, len(missing_dense)))
        keyword.update((i, pool[i]) for i in union if i not in keyword and i in pool)
        top_kw = max(keyword.values(), default=0.0)
        w = self.dense_weight
        fused = {}
        for i in union:
            kw = keyword.get(i, 0.0) / top_kw if top_kw > 0 else 0.0
            fused[i] = w * dense.get(i, 0.0) + (1.0 - w) * kw
        return fused

    def _rerank(self, text: str, scores: dict[int, float]) -> dict[int, float]:
        """The fused scores plus the symbol-name share, minus the prose, test and declaration penalties (module doc)."""
        if not scores or not (self.symbol_weight or self.prose_penalty or self.test_penalty or
                              self.declaration_penalty):
            return scores
        words, terms = frozenset(query_terms(text)), query_stems(text)
        hold_prose = self.prose_penalty if not words & DOC_TERMS else 0.0
        hold_tests = self.test_penalty if not words & TEST_TERMS else 0.0
        hold_declarations = self.declaration_penalty if not words & DECLARATION_TERMS else 0.0
        adjusted = dict(scores)
        for chunk_id, (path, symbol, language) in self.store.chunk_labels(list(scores)).items():
            name = name_terms(symbol) if symbol else frozenset()
            if name:
                adjusted[chunk_id] += self.symbol_weight * len(name & terms) / len(name)
            if hold_prose and not is_code(language):
                adjusted[chunk_id] -= hold_prose
            if hold_tests and TEST_PATH.search(path):
                adjusted[chunk_id] -= hold_tests
            if hold_declarations and DECLARATION_PATH.search(path):
                adjusted[chunk_id] -= hold_declarations
        return adjusted

    # -- helpers ------------------------------------------------------------------------------------

    def _filter_ids(self, language: str | None, path_glob: str | None) -> set[int] | None:
        if not language and not path_glob:
            return None
        rows = self.store.chunk_paths(language.lower() if language else None)
        if path_glob:
            return {cid for cid, path in rows if fnmatch.fnmatchcase(path, path_glob)}
        return {cid for cid, _ in rows}

    def _materialise(self, ranked: list[tuple[int, float]], k: int, exclude_path: str | None = None) -> list[SearchResult]:
        results: list[SearchResult] = []
        taken: dict[str, list[tuple[int, int]]] = {}
        for start in range(0, len(ranked), 100):
            part = ranked[start : start + 100]
            rows = self.store.chunk_rows([i for i, _ in part])
            for chunk_id, score in part:
                row = rows.get(chunk_id)
                if row is None:
                    continue  # deleted by a concurrent indexer since it was ranked
                path, first, last = row[0], row[1], row[2]
                if path == exclude_path:
                    continue
                spans = taken.setdefault(path, [])
                if any(first <= b and a <= last for a, b in spans):
                    continue
                spans.append((first, last))
                results.append(SearchResult(path, first, last, row[3], row[4], row[5], float(score), row[6]))
                if len(results) >= k:
                    return results
        return results


class BitPrefilter:
    """Sign bits of every chunk vector in memory; Hamming-nearest candidates by popcount."""

    def __init__(self, store: ChunkStore) -> None:
        self.store = store
        self._version: int | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._bits = np.zeros((0, 1), dtype=np.uint8)

    def _load(self) -> None:
        version = self.store.data_version()
        count = self.store.count("chunks")
        if version == self._version and count == len(self._ids):
            return
        rows = self.store.all_sign_bits()
        self._ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        width = len(rows[0][1]) if rows else 1
        self._bits = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(len(rows), width)
        self._version = version

    def nearest(self, vector: bytes, k: int) -> list[int]:
        """Ids of the `k` chunks whose sign bits differ least from the query's."""
        self._load()
        if not len(self._ids):
            return []
        query = np.packbits(np.frombuffer(vector, dtype=np.float32) > 0)
        distance = np.bitwise_count(np.bitwise_xor(self._bits, query)).sum(axis=1, dtype=np.int32)
        k = min(k, len(distance))
        best = np.argpartition(distance, k - 1)[:k]
        return [int(i) for i in self._ids[best]]

"""Dense search latency and recall at 10k and 100k chunks, and database size per 1k chunks.

Vectors are synthetic but shaped like real embeddings (unit vectors drawn around 1,000
cluster centres); queries are perturbed copies of stored vectors. For each size the script
compares, in one run, exact float KNN in sqlite-vec (the baseline) with the bit-quantized
Hamming prefilter + exact float rescoring that HybridSearch uses above EXACT_LIMIT chunks,
and reports the prefilter's Recall@10 against the exact answer. Then the whole hybrid query (dense + FTS5
keywords, fusion) is timed with the ranking signals of issue 19 (symbol-name match, prose and test
penalties) and without them (the ranking before), query by query in turn, so the ratio sees the same load.

    .venv/bin/python tests/benchmarks/bench_search_latency.py [--sizes 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from copilot_index.indexer import search as search_module
from copilot_index.indexer.chunker import Chunk
from copilot_index.indexer.config import IndexConfig
from copilot_index.indexer.search import HybridSearch
from copilot_index.indexer.store import ChunkStore, StoredFile, vector_blob

DIM = 384


def synthetic_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.normal(size=(1000, DIM)).astype(np.float32)
    points = centres[rng.integers(0, 1000, n)] + rng.normal(scale=0.9, size=(n, DIM)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def build_store(path: Path, vectors: np.ndarray) -> tuple[ChunkStore, float]:
    store = ChunkStore(path)
    store.ensure_embedder("synthetic", DIM)
    started = time.monotonic()
    per_file = 50
    for f in range(0, len(vectors), per_file):
        chunks = [
            Chunk(f"pkg/mod_{f // per_file}.py", "python", f"func_{i}", "function", (i - f) * 10 + 1, (i - f) * 10 + 9,
                  f"def func_{i}(value):\n    return compute_{i % 97}(value) + helper_{i % 13}(value)\n")
            for i in range(f, min(f + per_file, len(vectors)))
        ]
        blobs = [vector_blob(v) for v in vectors[f : f + per_file]]
        with store.transaction():
            store.write_file(StoredFile(chunks[0].path, f"h{f}", 1, 1), "python", chunks, blobs)
    return store, time.monotonic() - started


class GivenVectors:
    """The query side of an embedder whose answers are known: the bench times search, not embedding."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


def hybrid_timings(store: ChunkStore, texts: list[str], vectors: np.ndarray) -> dict[str, list[float]]:
    """Milliseconds per hybrid query with the ranking signals (the product's defaults) and without them."""
    given = GivenVectors(dict(zip(texts, vectors, strict=True)))
    searches = {"signals": HybridSearch(store, given, IndexConfig()),  # type: ignore[arg-type]
                "no_signals": HybridSearch(store, given, IndexConfig(symbol_weight=0.0, prose_penalty=0.0,  # type: ignore[arg-type]
                                                                      test_penalty=0.0))}
    timings: dict[str, list[float]] = {name: [] for name in searches}
    for text in texts:
        for name, search in searches.items():
            t = time.perf_counter()
            search.query(text, 10)
            timings[name].append((time.perf_counter() - t) * 1000)
    return timings


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(size: int, n_queries: int, rng: np.random.Generator, work: Path) -> dict[str, float]:
    vectors = synthetic_vectors(size, rng)
    store, build_seconds = build_store(work / f"bench-{size}.db", vectors)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_bytes = sum(p.stat().st_size for p in work.iterdir() if p.name.startswith(f"bench-{size}.db"))
    search = HybridSearch(store, embedder=None)  # type: ignore[arg-type]  # vectors are given directly
    picks = rng.integers(0, size, n_queries)
    queries = vectors[picks] + rng.normal(scale=0.02, size=(n_queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    timings: dict[str, list[float]] = {"exact": [], "prefilter": []}
    answers: dict[str, list[list[int]]] = {"exact": [], "prefilter": []}
    product_limit = search_module.EXACT_LIMIT
    for mode, limit in (("exact", 10**9), ("prefilter", 0)):
        search_module.EXACT_LIMIT = limit
        for q in queries:
            blob = vector_blob(q)
            t = time.perf_counter()
            found = search.dense_by_vector(blob, 10)
            timings[mode].append((time.perf_counter() - t) * 1000)
            answers[mode].append(sorted(found, key=lambda i: -found[i])[:10])
    search_module.EXACT_LIMIT = product_limit  # the hybrid query as the product runs it
    texts = [f"compute {int(p) % 97} helper value of func {int(p)}" for p in picks]
    hybrid = hybrid_timings(store, texts, queries)
    recall = statistics.mean(len(set(a) & set(b)) / 10 for a, b in zip(answers["exact"], answers["prefilter"], strict=True))
    store.close()
    return {
        "chunks": size,
        "exact_p50_ms": percentile(timings["exact"], 50),
        "exact_p95_ms": percentile(timings["exact"], 95),
        "prefilter_p50_ms": percentile(timings["prefilter"], 50),
        "prefilter_p95_ms": percentile(timings["prefilter"], 95),
        "speedup_p50": percentile(timings["exact"], 50) / percentile(timings["prefilter"], 50),
        "prefilter_recall@10": recall,
        "hybrid_p50_ms": percentile(hybrid["signals"], 50),
        "hybrid_no_signals_p50_ms": percentile(hybrid["no_signals"], 50),
        "signals_cost_p50": percentile(hybrid["signals"], 50) / percentile(hybrid["no_signals"], 50),
        "db_mb_per_1k_chunks": db_bytes / 1e6 / (size / 1000),
        "build_seconds": build_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="copilot-index-latency-") as tmp:
        header = f"{'chunks':>8} {'exact p50/p95 ms':>18} {'prefilter p50/p95 ms':>22} {'speedup':>8}"
        print(f"{header} {'recall@10':>10} {'MB/1k':>7}")
        for size in args.sizes:
            r = measure(size, args.queries, rng, Path(tmp))
            print(
                f"{r['chunks']:>8} {r['exact_p50_ms']:>8.1f} /{r['exact_p95_ms']:>7.1f} "
                f"{r['prefilter_p50_ms']:>11.1f} /{r['prefilter_p95_ms']:>7.1f} {r['speedup_p50']:>7.1f}x "
                f"{r['prefilter_recall@10']:>10.3f} {r['db_mb_per_1k_chunks']:>7.2f}",
                flush=True,
            )
            print(f"{'':>8} hybrid p50 {r['hybrid_p50_ms']:.1f} ms with the ranking signals, "
                  f"{r['hybrid_no_signals_p50_ms']:.1f} ms without ({r['signals_cost_p50']:.2f}x; "
                  "target: within 1.10x)", flush=True)


if __name__ == "__main__":
    main()

"""Search quality on a real repository that is not this project: keyword vs dense vs hybrid.

Builds the stripped CPython-stdlib evaluation set (see evalset.py), indexes it with the real
embedder, and reports MRR@10 / Recall@10 per mode. The hybrid dense weight is tuned on one
half of the queries and reported on the other half, so the figure is not fitted to itself.

    .venv/bin/python tests/benchmarks/bench_search_quality.py [--queries 400] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evalset  # noqa: E402

from copilot_index.indexer.embedder import Embedder  # noqa: E402
from copilot_index.indexer.pipeline import Indexer  # noqa: E402
from copilot_index.indexer.repo import resolve_repo  # noqa: E402
from copilot_index.indexer.search import HybridSearch  # noqa: E402
from copilot_index.indexer.status import open_existing_store  # noqa: E402

WEIGHTS = [0.5, 0.6, 0.7, 0.8, 0.9]


def rrf(search: HybridSearch, query: str, k: int = 10, constant: int = 60) -> list[object]:
    """Plain reciprocal-rank fusion of the dense and keyword lists (the baseline the issue warns about)."""
    fused: dict[tuple[str, int], tuple[float, object]] = {}
    for mode in ("dense", "keyword"):
        for rank, r in enumerate(search.query(query, k=60, mode=mode), 1):  # type: ignore[arg-type]
            key = (r.path, r.start_line)
            score = fused.get(key, (0.0, r))[0] + 1.0 / (constant + rank)
            fused[key] = (score, r)
    return [r for _, r in sorted(fused.values(), key=lambda item: -item[0])[:k]]


def run(work: Path, n_queries: int, reuse: bool = False) -> dict[str, object]:
    queries = evalset.build(work, max_queries=n_queries) if not (reuse and (work / "queries.jsonl").is_file()) else [
        evalset.EvalQuery(**json.loads(line)) for line in (work / "queries.jsonl").read_text().splitlines() if line
    ]
    repo = resolve_repo(work / "repo")
    embedder = Embedder()
    started = time.monotonic()
    summary = Indexer(repo, work / "data", embedder=embedder).run(rebuild=not reuse)
    index_seconds = time.monotonic() - started
    store = open_existing_store(work / "data", repo.root)
    search = HybridSearch(store, embedder)
    tune, report = queries[0::2], queries[1::2]

    def evaluate(qs: list[evalset.EvalQuery], mode: str, weight: float = 0.7) -> dict[str, float]:
        search.dense_weight = weight
        return evalset.score([search.query(q.query, k=10, mode=mode) for q in qs], qs)  # type: ignore[arg-type]

    sweep = {w: evaluate(tune, "hybrid", w)["mrr@10"] for w in WEIGHTS}
    best = max(sweep, key=lambda w: sweep[w])
    results = {
        "keyword": evaluate(report, "keyword"),
        "dense": evaluate(report, "dense"),
        f"hybrid(w={best})": evaluate(report, "hybrid", best),
        "hybrid(w=0.7 default)": evaluate(report, "hybrid", 0.7),
        "plain RRF (k=60)": evalset.score([rrf(search, q.query) for q in report], report),
    }
    store.close()
    return {
        "repository": "CPython stdlib snapshot, docstrings of the query half removed",
        "files": summary.files_scanned,
        "chunks": summary.chunks_embedded + summary.chunks_reused if not reuse else "reused",
        "index_seconds": round(index_seconds, 1),
        "tuning_queries": len(tune),
        "report_queries": len(report),
        "weight_sweep_mrr_on_tuning_half": {str(w): round(v, 4) for w, v in sweep.items()},
        "results_on_report_half": {m: {k: round(v, 4) for k, v in r.items()} for m, r in results.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--work", type=Path, default=None, help="keep the built repository and index here")
    parser.add_argument("--reuse", action="store_true", help="reuse the repository and index already in --work")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="copilot-index-bench-"))
    report = run(work, args.queries, reuse=args.reuse)
    print(json.dumps(report, indent=2))
    rows = report["results_on_report_half"]
    assert isinstance(rows, dict)
    print(f"\n{'mode':<24}{'MRR@10':>8}{'Recall@10':>11}")
    for mode, r in rows.items():
        print(f"{mode:<24}{r['mrr@10']:>8.3f}{r['recall@10']:>11.3f}")


if __name__ == "__main__":
    main()

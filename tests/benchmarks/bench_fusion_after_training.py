"""Does `train-embeddings` want another fusion weight? Hybrid search at several `index.dense_weight` values,
before and after training, and what the repository's own held-out pairs would choose (issue 19).

Three parts, each per retrieval set (made by /work/shared/bench/make_retrieval_set.py):

- `search`: a fresh copy of the set, the backend pinned to int8 ONNX; MRR@10 of the product at each weight
  and in `--mode dense`, then `copilot-index train-embeddings`, then the same again. Scoring is
  retrieval_eval's own.
- `held-out`: mines the set's pairs, splits them as `train-embeddings` does, and scores the fused score
  (weight x cosine + (1 - weight) x max-normalised bm25 over the same identifier-aware keyword text as the
  index) on the held-out pairs, for the shipped embedder and for the one trained from it. If the best weight
  there matched the best weight on the queries, `train-embeddings` could choose the weight itself.
- `grid`: `train-embeddings` on a fresh copy, and MRR@10 of the set's queries over `index.dense_weight` x
  `index.symbol_weight` before and after it (in-process searches of the real index), beside what the doc probe
  scores over the same grid for the trained embedder: could the probe choose the symbol weight too?
- `probe`: `train-embeddings` on a fresh copy, the set's queries at each weight after it, and beside them what
  the doc probe (`conventions/embeddings/probe.py`, which `train-embeddings` now uses to choose the weight)
  scores at each weight for the trained embedder and for the shipped one.

    .venv/bin/python tests/benchmarks/bench_fusion_after_training.py {search,held-out,probe,grid} [--sets flask httpx gin]
        [--weights 0.5 0.7 0.85 1.0] [--hard-negatives] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import sqlean

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ablation_index import yardstick  # noqa: E402  (retrieval_eval.py, imported, not copied)

from copilot_index.conventions.embeddings.pairs import MiningOptions, Pair, PairMiner, split_by_file  # noqa: E402
from copilot_index.conventions.embeddings.run import _distractors  # noqa: E402
from copilot_index.conventions.embeddings.training import (  # noqa: E402
    TrainingArgs,
    encoder_of,
    fine_tune,
    load_trainable,
    mrr_of_scores,
    retrieval_task,
)
from copilot_index.indexer import IndexConfig, resolve_embedder_path  # noqa: E402
from copilot_index.indexer.keywords import fts_query, keyword_text  # noqa: E402
from copilot_index.indexer.repo import resolve_repo  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "copilot-index")
SETS = ROOT / ".work" / "bench" / "retrieval"


def _fresh_copy(folder: Path, tmp: Path) -> tuple[Path, Path]:
    """A copy of the set in `tmp`, and a settings folder; the data and settings homes of this process (and of the
    runner's subprocesses, which inherit them) point there."""
    copy = tmp / folder.name
    shutil.copytree(folder / "repo", copy / "repo", symlinks=True)
    settings = tmp / "config"
    settings.mkdir()
    os.environ["COPILOT_INDEX_HOME"] = str(tmp / "data")
    os.environ["COPILOT_INDEX_CONFIG_HOME"] = str(settings)
    return copy, settings


def search_part(folder: Path, weights: list[float], train_args: list[str]) -> dict[str, Any]:
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        copy, settings = _fresh_copy(folder, Path(tmp))

        def measure() -> dict[str, float]:
            row = {}
            for weight in weights:
                (settings / "config.toml").write_text(f'[index]\nembedder_backend = "onnx"\ndense_weight = {weight}\n')
                results, _, _ = yardstick.run_project(CLI, copy, queries, 10)
                row[f"w{weight}"] = round(yardstick.score(queries, results, 10)[0], 4)
            (settings / "config.toml").write_text('[index]\nembedder_backend = "onnx"\n')
            os.environ["PROJECT_SEARCH_ARGS"] = "--mode dense"
            try:
                results, _, _ = yardstick.run_project(CLI, copy, queries, 10)
            finally:
                os.environ["PROJECT_SEARCH_ARGS"] = ""
            row["dense"] = round(yardstick.score(queries, results, 10)[0], 4)
            return row

        before = measure()
        trained = subprocess.run([CLI, "train-embeddings", "--repo", str(copy / "repo"), "--json", *train_args],
                                 capture_output=True, text=True, check=True)
        report = json.loads(trained.stdout)
        return {"set": folder.name, "queries": len(queries), "before": before, "after": measure(),
                "promoted": report.get("promoted"), "train_steps": report.get("train_steps")}


def fused_mrr(encode: Any, pairs: list[Pair], distractors: list[str], weights: list[float]) -> dict[str, float]:
    """MRR@10 of the hybrid formula over the held-out code (plus distractors), at each weight."""
    docs, queries, relevant = retrieval_task(pairs, distractors)
    dense = encode(queries) @ encode(docs).T
    conn = sqlean.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')")
    conn.executemany("INSERT INTO f(rowid, body) VALUES (?, ?)", [(i, keyword_text(d)) for i, d in enumerate(docs)])
    keyword = np.zeros_like(dense)
    for row, query in enumerate(queries):
        match = fts_query(query)
        if match:
            for rowid, score in conn.execute("SELECT rowid, bm25(f) FROM f WHERE f MATCH ?", (match,)):
                keyword[row, rowid] = -score
        if keyword[row].max() > 0:
            keyword[row] /= keyword[row].max()
    return {f"w{weight}": round(mrr_of_scores(weight * dense + (1.0 - weight) * keyword, queries, relevant), 4)
            for weight in weights}


def held_out_part(folder: Path, weights: list[float], hard_negatives: bool) -> dict[str, Any]:
    config = IndexConfig()
    pairs = PairMiner(resolve_repo(folder / "repo"), config, MiningOptions()).mine()
    train, held_out = split_by_file(pairs, 0.15, 0)
    distractors = _distractors(train, held_out, 200, 0)
    model = load_trainable(resolve_embedder_path("default"))
    encode = encoder_of(model, config.max_seq_length, config.batch_size)
    base = fused_mrr(encode, held_out, distractors, weights)
    fine_tune(model, train, TrainingArgs(epochs=3, hard_negatives=hard_negatives))  # the CLI's defaults
    return {"set": folder.name, "pairs": len(pairs), "held_out": len(held_out), "base": base,
            "trained": fused_mrr(encode, held_out, distractors, weights)}


def probe_part(folder: Path, weights: list[float], train_args: list[str]) -> dict[str, Any]:
    """Benchmark queries at each weight after `train-embeddings`, beside what the doc probe (which sees only the
    repository) scores at each weight, for the trained embedder and for the shipped one."""
    from copilot_index.conventions.embeddings.probe import DocProbe, ProbeOptions

    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        copy, settings = _fresh_copy(folder, Path(tmp))

        def measure(at: list[float]) -> dict[str, float]:
            row = {}
            for weight in at:
                (settings / "config.toml").write_text(f'[index]\nembedder_backend = "onnx"\ndense_weight = {weight}\n')
                results, _, _ = yardstick.run_project(CLI, copy, queries, 10)
                row[f"w{weight}"] = round(yardstick.score(queries, results, 10)[0], 4)
            return row

        before = measure([0.7])
        trained = subprocess.run([CLI, "train-embeddings", "--repo", str(copy / "repo"), "--json", *train_args],
                                 capture_output=True, text=True, check=True)
        report = json.loads(trained.stdout)
        after = measure(weights)
        repo = resolve_repo(copy / "repo")
        config = IndexConfig(embedder_backend="onnx")
        pairs = PairMiner(repo, config, MiningOptions()).mine()
        held = {p.path for p in split_by_file(pairs, 0.15, 0)[1]}
        options = ProbeOptions(weights=weights)
        probe_trained = DocProbe(repo, config, held, options).run(report["active_embedder"])
        probe_base = DocProbe(repo, config, held, options).run("default")
        return {"set": folder.name, "queries": len(queries), "before": before, "after": after,
                "promoted": report.get("promoted"), "train_steps": report.get("train_steps"),
                "probe_trained": probe_trained.as_json(), "probe_base": probe_base.as_json()}


def _grid(index: Any, score: Any, weights: list[float], symbol_weights: list[float]) -> dict[str, float]:
    search = index.searcher()
    out = {}
    for symbol in symbol_weights:
        for weight in weights:
            search.dense_weight, search.symbol_weight = weight, symbol
            out[f"w{weight}/s{symbol}"] = round(score(index), 4)
    return out


def grid_part(folder: Path, weights: list[float], train_args: list[str],
              symbol_weights: list[float]) -> dict[str, Any]:
    """The set's queries and the doc probe over dense weight x symbol weight, before and after training."""
    from copilot_index.conventions.embeddings import probe as doc_probe
    from copilot_index.indexer import DataDir, Index, RepoInfo

    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]

    def score_queries(index: Any) -> float:
        results = [[{"path": h.path, "start_line": h.start_line, "end_line": h.end_line}
                    for h in index.search(q["query"].replace("\n", " "), 10)] for q in queries]
        return float(yardstick.score(queries, results, 10)[0])

    with tempfile.TemporaryDirectory() as tmp:
        copy, settings = _fresh_copy(folder, Path(tmp))
        (settings / "config.toml").write_text('[index]\nembedder_backend = "onnx"\n')
        subprocess.run([CLI, "index", str(copy / "repo")], check=True, stdout=subprocess.DEVNULL)
        repo = resolve_repo(copy / "repo")

        def on_index(score: Any) -> dict[str, float]:
            index = Index(repo, DataDir.for_repo(repo), IndexConfig.load(repo.root))
            try:
                return _grid(index, score, weights, symbol_weights)
            finally:
                index.close()

        before = on_index(score_queries)
        trained = subprocess.run([CLI, "train-embeddings", "--repo", str(copy / "repo"), "--json", *train_args],
                                 capture_output=True, text=True, check=True)
        report = json.loads(trained.stdout)
        after = on_index(score_queries)
        config = IndexConfig(embedder_backend="onnx")
        train, held_pairs = split_by_file(PairMiner(repo, config, MiningOptions()).mine(), 0.15, 0)
        held = {p.path for p in held_pairs}
        reserved = doc_probe.reserve_targets(repo, config, train, held, doc_probe.ProbeOptions())
        probe = doc_probe.DocProbe(repo, config, held, reserved=reserved)
        root = Path(tmp) / "probe" / "repo"
        targets = probe._write_copy(root)
        index = Index(RepoInfo(root.resolve(), None), DataDir(Path(tmp) / "probe" / "data"),
                      IndexConfig(embedder_backend="onnx", embedder=report["active_embedder"]))
        try:
            index.update()
            probed = _grid(index, lambda ix: doc_probe._mrr(ix, targets), weights, symbol_weights)
        finally:
            index.close()
        return {"set": folder.name, "queries": len(queries), "probe_queries": len(targets),
                "chosen_weight": (report.get("probe") or {}).get("chosen_weight"), "before": before, "after": after,
                "probe": probed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["search", "held-out", "probe", "grid"])
    parser.add_argument("--sets", nargs="+", default=["flask", "httpx", "gin"])
    parser.add_argument("--weights", nargs="+", type=float, default=[0.5, 0.7, 0.85, 1.0])
    parser.add_argument("--symbol-weights", nargs="+", type=float, default=[0.0, 0.1, 0.2, 0.3, 0.4])
    parser.add_argument("--hard-negatives", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        folder = SETS / name
        train_args = ["--hard-negatives"] if args.hard_negatives else []
        if args.part == "search":
            row = search_part(folder, args.weights, train_args)
        elif args.part == "grid":
            row = grid_part(folder, args.weights, train_args, args.symbol_weights)
        elif args.part == "probe":
            row = probe_part(folder, args.weights, train_args)
        else:
            row = held_out_part(folder, args.weights, args.hard_negatives)
        rows.append(row)
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Embedding training and the ONNX embedder on a real repository that is not this project.

Builds the stripped CPython-stdlib evaluation set (evalset.py: half of the documented functions lost
their docstrings, whose first sentences are the queries; the other half keep theirs, the training
signal), chunks it like the indexer, and ranks every chunk by dense cosine for each query. In one run:

1. PyTorch fp32 (the baseline) and the ONNX int8 export, at the configured sequence length and at a
   128-token cap, embed the same chunks slice by slice in turn, so the throughput ratio is measured
   under the same machine load; each gets its MRR@10.
2. `train_embeddings` (the code behind `copilot-index train-embeddings`) mines pairs from the
   repository, fine-tunes the embedder within its time budget and promotes it if its held-out score
   is better; the promoted embedder's MRR@10 is compared with the base's.

    .venv/bin/python tests/benchmarks/bench_embeddings.py [--queries 400] [--minutes 6] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evalset  # noqa: E402

from copilot_index.conventions.embeddings.run import TrainEmbeddingsOptions, train_embeddings  # noqa: E402
from copilot_index.conventions.embeddings.training import TrainingArgs  # noqa: E402
from copilot_index.indexer.active_embedder import active_embedder_id  # noqa: E402
from copilot_index.indexer.chunker import Chunk, Chunker  # noqa: E402
from copilot_index.indexer.config import IndexConfig  # noqa: E402
from copilot_index.indexer.embedder import Embedder  # noqa: E402
from copilot_index.indexer.repo import resolve_repo  # noqa: E402
from copilot_index.indexer.scanner import Scanner, read_source  # noqa: E402

SLICE = 256


def repo_chunks(root: Path) -> list[Chunk]:
    repo, config = resolve_repo(root), IndexConfig()
    chunker = Chunker(window_lines=config.window_lines, window_overlap=config.window_overlap)
    chunks: list[Chunk] = []
    for entry in Scanner(repo, config).scan().files:
        read = read_source(repo.root / entry.path, config)
        if not isinstance(read, str):
            chunks += chunker.chunk(entry.path, read[1])
    return chunks


def mrr(chunk_vectors: np.ndarray, query_vectors: np.ndarray, chunks: list[Chunk], queries: list) -> dict[str, float]:
    ranked = []
    for row in query_vectors @ chunk_vectors.T:
        ranked.append([chunks[i] for i in np.argsort(-row, kind="stable")[:10]])
    return evalset.score(ranked, queries)  # type: ignore[arg-type]


def embed_in_turns(embedders: dict[str, Embedder], texts: list[str]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Embed `texts` with every embedder, alternating slice by slice; returns vectors and texts/second."""
    for embedder in embedders.values():
        embedder.embed(texts[:8])  # load, export and warm up outside the timing
    parts: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    seconds = dict.fromkeys(embedders, 0.0)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for first in range(0, len(order), SLICE):
        rows = order[first : first + SLICE]
        for name, embedder in embedders.items():
            started = time.perf_counter()
            parts[name].append(embedder.embed([texts[i] for i in rows]))
            seconds[name] += time.perf_counter() - started
    inverse = np.argsort(np.array(order))
    vectors = {name: np.concatenate(p)[inverse] for name, p in parts.items()}
    return vectors, {name: len(texts) / s for name, s in seconds.items()}


def run(work: Path, n_queries: int, minutes: float, hard_negatives: bool = False,
        training: bool = True) -> dict[str, object]:
    queries = evalset.build(work, max_queries=n_queries)
    root = work / "repo"
    chunks = repo_chunks(root)
    texts = [c.embedding_text() for c in chunks]
    lines = sum(len((root / p).read_text(encoding="utf-8").splitlines()) for p in {c.path for c in chunks})
    onnx_dir = work / "data" / "embedders" / "onnx"
    config = IndexConfig()
    embedders = {
        "torch-fp32": Embedder(max_seq_length=config.max_seq_length),
        "onnx-int8": Embedder(max_seq_length=config.max_seq_length, backend="onnx", onnx_dir=onnx_dir),
        "onnx-int8@128": Embedder(max_seq_length=128, backend="onnx", onnx_dir=onnx_dir),
    }
    vectors, throughput = embed_in_turns(embedders, texts)
    scores = {}
    for name, embedder in embedders.items():
        scores[name] = mrr(vectors[name], embedder.embed([q.query for q in queries]), chunks, queries)
    base = scores["torch-fp32"]["mrr@10"]
    result: dict[str, object] = {
        "repository": f"CPython stdlib snapshot: {len({c.path for c in chunks})} files, {lines} lines, {len(chunks)} chunks",
        "queries": len(queries),
        "throughput_chunks_per_s": {k: round(v, 1) for k, v in throughput.items()},
        "mrr@10": {k: round(v["mrr@10"], 4) for k, v in scores.items()},
        "recall@10": {k: round(v["recall@10"], 4) for k, v in scores.items()},
    }
    for name in ("onnx-int8", "onnx-int8@128"):
        result[f"{name}_speedup"] = round(throughput[name] / throughput["torch-fp32"], 2)
        result[f"{name}_mrr_change"] = round(scores[name]["mrr@10"] / base - 1, 4)
    if not training:
        return result

    started = time.monotonic()
    options = TrainEmbeddingsOptions(training=TrainingArgs(max_seconds=minutes * 60, epochs=3,
                                                                hard_negatives=hard_negatives))
    report = train_embeddings(resolve_repo(root), work / "data", config, options)
    train_minutes = (time.monotonic() - started) / 60
    trained_id = active_embedder_id(work / "data", config.embedder)
    result.update(train_embeddings=report.as_json(), train_minutes=round(train_minutes, 2),
                  hard_negatives=hard_negatives)
    if report.promoted:
        trained = Embedder(trained_id, max_seq_length=config.max_seq_length)
        trained_vectors = trained.embed(texts)
        trained_score = mrr(trained_vectors, trained.embed([q.query for q in queries]), chunks, queries)
        result["mrr@10"]["trained torch-fp32"] = round(trained_score["mrr@10"], 4)  # type: ignore[index]
        result["recall@10"]["trained torch-fp32"] = round(trained_score["recall@10"], 4)  # type: ignore[index]
        result["trained_relative_gain"] = round(trained_score["mrr@10"] / base - 1, 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--minutes", type=float, default=6.0, help="training time budget (default: 6)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--hard-negatives", action="store_true", help="train with keyword-search hard negatives")
    parser.add_argument("--no-training", action="store_true", help="measure the ONNX embedder only")
    args = parser.parse_args()
    if args.work:
        result = run(args.work, args.queries, args.minutes, args.hard_negatives, not args.no_training)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(Path(tmp), args.queries, args.minutes, args.hard_negatives, not args.no_training)
    print(json.dumps(result, indent=2))
    mrr10 = result["mrr@10"]
    assert isinstance(mrr10, dict)
    if "train_minutes" in result:
            print(f"MRR@10 base {mrr10['torch-fp32']:.4f} -> trained {mrr10.get('trained torch-fp32', float('nan')):.4f} "
              f"(relative gain {result.get('trained_relative_gain', float('nan')):+.1%}; target >= +10%), "
              f"train-embeddings took {result['train_minutes']:.1f} min (target <= 10)")
    for name in ("onnx-int8", "onnx-int8@128"):
        print(f"{name}: {result[f'{name}_speedup']:.2f}x PyTorch fp32 throughput (target >= 2x), "
              f"MRR@10 change {result[f'{name}_mrr_change']:+.2%} (target >= -1%)")


if __name__ == "__main__":
    main()

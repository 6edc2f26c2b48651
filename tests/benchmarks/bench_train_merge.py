"""Does averaging the trained embedder with the one it started from help search? (issue 19, WiSE-FT)

`train-embeddings` fine-tunes on pairs mined from the repository, and a longer run raised those pairs'
held-out MRR@10 much more than the retrieval sets' (gin 0.589 -> 0.701 on its pairs, 0.537 -> 0.534 on its
queries): the mined pairs are not the kind of query the sets ask. Weight-space averaging of the fine-tuned
and the starting model ("WiSE-FT", Wortsman et al. 2022) is known to keep much of the fine-tuning gain while
losing less of what the starting model did well on other kinds of input. This script measures it.

For each retrieval set (made by /work/shared/bench/make_retrieval_set.py), in one run:

1. mines the set's pairs and splits them as `train-embeddings` does, then fine-tunes the shipped embedder
   in process with the given settings (default: the CLI's, with `--hard-negatives`);
2. for each share a in `--alphas`, writes base + a x (trained - base) to `WORK/SET/aA` and scores it on
   the held-out pairs (what `train-embeddings` could choose with) and on the set's queries, through
   bench_search_ablation.py's index (the product's Indexer and HybridSearch, int8 ONNX vectors);
3. the shipped embedder (a = 0) and the yardstick's naive dense baseline in the same run.

    .venv/bin/python tests/benchmarks/bench_train_merge.py [--sets flask httpx gin] [--alphas 0.25 0.5 0.75 1]
        [--hard-negatives] [--epochs 3] [--learning-rate 5e-5] [--minutes 6] [--json OUT] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_search_ablation as ablation  # noqa: E402

from copilot_index.conventions.embeddings.pairs import MiningOptions, PairMiner, split_by_file  # noqa: E402
from copilot_index.conventions.embeddings.run import _distractors  # noqa: E402
from copilot_index.conventions.embeddings.training import (  # noqa: E402
    TrainingArgs,
    encoder_of,
    fine_tune,
    load_trainable,
    mrr_at_k,
)
from copilot_index.indexer import IndexConfig, resolve_embedder_path  # noqa: E402
from copilot_index.indexer.repo import resolve_repo  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / ".work" / "bench" / "retrieval"


def blend(model: Any, base: dict[str, Any], trained: dict[str, Any], alpha: float) -> None:
    """Load base + alpha x (trained - base) into `model`, in float32, each tensor back in its own dtype."""
    mixed = {name: (base[name].float() + alpha * (trained[name].float() - base[name].float())).to(trained[name].dtype)
             for name in trained}
    model.load_state_dict(mixed)


def train_and_blend(folder: Path, out: Path, alphas: list[float], args: TrainingArgs) -> dict[str, Any]:
    config = IndexConfig()
    pairs = PairMiner(resolve_repo(folder / "repo"), config, MiningOptions()).mine()
    train, held_out = split_by_file(pairs, 0.15, args.seed)
    distractors = _distractors(train, held_out, 200, args.seed)
    model = load_trainable(resolve_embedder_path("default"))
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}
    encode = encoder_of(model, config.max_seq_length, config.batch_size)
    started = time.monotonic()
    result = fine_tune(model, train, args)
    trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
    row: dict[str, Any] = {"set": folder.name, "train_pairs": len(train), "held_out_pairs": len(held_out),
                           "steps": result.steps, "train_minutes": round((time.monotonic() - started) / 60, 1),
                           "held_out": {}, "paths": {}}
    for alpha in [0.0, *alphas]:
        blend(model, base, trained, alpha)
        row["held_out"][f"a{alpha:g}"] = round(mrr_at_k(encode, held_out, distractors), 4)
        if alpha:
            path = out / folder.name / f"a{alpha:g}"
            model.save(str(path))
            row["paths"][f"a{alpha:g}"] = str(path)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["flask", "httpx", "gin"])
    parser.add_argument("--alphas", nargs="+", type=float, default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--hard-negatives", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--work", type=Path, default=ROOT / ".work" / "bench" / "merge")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(2)
    training = TrainingArgs(max_seconds=args.minutes * 60, epochs=args.epochs, learning_rate=args.learning_rate,
                            hard_negatives=args.hard_negatives)
    rows = []
    for name in args.sets:
        row = train_and_blend(SETS / name, args.work, args.alphas, training)
        ablations = ["int8", *(f"int8+embedder={path}" for path in row["paths"].values())]
        ablations += [f"{a}+w=1.0" for a in ablations]
        scored = ablation.run(argparse.Namespace(sets=[name], ablations=ablations, query=None, documented=False,
                                                 work=str(ROOT / ".work" / "bench" / "ablation")))
        table = ablation.print_table(scored)
        labels = ["a0", *row["paths"]]
        row["search"] = {label: table[a][name]["mrr@10"] for label, a in zip(labels, ablations, strict=False)}
        row["search_w1"] = {label: table[a][name]["mrr@10"] for label, a in zip(labels, ablations[len(labels):],
                                                                                strict=True)}
        row["naive_dense"] = next(iter(table.values()))[name]["mrr@10"]
        rows.append(row)
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()
    for row in rows:  # lifts against the shipped embedder at the product's fusion weight (a0, hybrid)
        base = row["search"]["a0"]
        for label, key in (("hybrid", "search"), ("weight 1.0", "search_w1")):
            cells = "  ".join(f"{k} {v:.3f} ({(v / base - 1) * 100:+.1f} %)" for k, v in row[key].items())
            print(f"{row['set']:6s} naive dense {row['naive_dense']:.3f}  {label}: {cells}")
        print(f"{'':6s} held-out pairs: " + "  ".join(f"{k} {v:.3f}" for k, v in row["held_out"].items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

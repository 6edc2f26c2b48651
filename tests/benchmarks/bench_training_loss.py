"""Seconds per `train-embeddings` step for each loss variant, as a ratio to ``infonce`` in the same run.

Pairs are mined from a repository (default: the flask retrieval set's copy) as `train-embeddings` mines them;
each round trains a fresh copy of the shipped embedder for `--steps` steps (at most one pass over the pairs:
flask's 437 give 14) with every variant in turn (the order alternates between rounds), so a busy machine slows
all of them alike. Prints seconds per step per variant, its median over the rounds, and the ratio to ``infonce``.

    .venv/bin/python tests/benchmarks/bench_training_loss.py [--repo .work/bench/retrieval/flask/repo]
        [--steps 15] [--rounds 3] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from copilot_index.conventions.embeddings.pairs import PairMiner
from copilot_index.conventions.embeddings.training import LOSS_VARIANTS, TrainingArgs, fine_tune, load_trainable
from copilot_index.indexer import DEFAULT_EMBEDDER, resolve_embedder_path, resolve_repo

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT / ".work" / "bench" / "retrieval" / "flask" / "repo")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    if not args.repo.is_dir():
        sys.exit(f"{args.repo} is not a folder: make the retrieval set first (../shared/bench/make_retrieval_set.py).")
    pairs = PairMiner(resolve_repo(args.repo)).mine()
    path = resolve_embedder_path(DEFAULT_EMBEDDER)
    print(f"{len(pairs)} pairs from {args.repo}; load average at start {os.getloadavg()} on {os.cpu_count()} cores")
    per_step: dict[str, list[float]] = {name: [] for name in LOSS_VARIANTS}
    for k in range(args.rounds):
        order = list(LOSS_VARIANTS) if k % 2 == 0 else list(reversed(LOSS_VARIANTS))
        for name in order:
            model = load_trainable(path)
            result = fine_tune(model, pairs, TrainingArgs(max_steps=args.steps, batch_size=args.batch_size, loss=name))
            per_step[name].append(result.seconds / max(1, result.steps))
            print(f"round {k + 1} {name:9s} {per_step[name][-1]:.3f} s/step over {result.steps} steps", flush=True)
    base = statistics.median(per_step["infonce"])
    for name, seconds in per_step.items():
        median = statistics.median(seconds)
        print(f"{name:9s} median {median:.3f} s/step  ({median / base:.2f}x infonce)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

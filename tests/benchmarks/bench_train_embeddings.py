"""`train-embeddings` on real repositories: does it add >= 10 % MRR@10 on top of the shipped embedder? (issue 19)

For each retrieval set (made by /work/shared/bench/make_retrieval_set.py: a repository whose documented
functions lost their doc comments, and the first sentences of those as queries), in one run:

1. the naive `dense` baseline of retrieval_eval.py (MiniLM over regex definition chunks, cosine);
2. the product as shipped: `copilot-index index` + `search` (retrieval_eval's `project` runner);
3. `copilot-index train-embeddings --repo SET/repo --minutes M` (mines pairs from the repository, which no
   longer holds the queries' doc comments, trains from the shipped embedder, promotes the result only if its
   own held-out pairs score better, and re-embeds the index); then the project again.

Each set gets its own throwaway data folder (`COPILOT_INDEX_HOME`) and a copy of its repository, so the
set stays as it was. The embedding backend is pinned (`--backend`, default `onnx`: what `auto` picks on a quiet
machine here, 2-2.7x faster than PyTorch): `auto` measures both backends on first use, and a busy machine once
picked PyTorch for one model and ONNX for another in the same run, so before and after were not comparable
(PyTorch's float vectors scored 0.010 higher on httpx). Scoring is retrieval_eval's own `score`. Prints MRR@10
before / after, the lift, and the naive baseline, per set and pooled (weighted by queries), and each lift's 95 %
interval from a paired bootstrap over the queries (`paired_bootstrap.py`): with 90 to 170 queries a set's lift is
uncertain by several points either way, which decides how to read "+10 % on each set".

    .venv/bin/python tests/benchmarks/bench_train_embeddings.py [--sets flask httpx gin] [--minutes 6]
        [--hard-negatives] [--epochs N] [--learning-rate LR] [--train-seq-length T] [--batch-size B]
        [--loss NAME] [--prose] [--comments] [--specs] [--replay N] [--summaries N] [--refit] [--seed N] [--soup N]
        [--compare-prose | --compare-comments | --compare-hard-negatives | --compare-summaries N |
         --compare-refit | --compare-train-seq-length T | --compare-loss NAME]
        [--backend onnx|torch|auto] [--weight-grid]
        [--json OUT] [--work DIR] [--code REV]

`--compare-prose` trains each set twice in the run, without and with the ``prose`` pairs (documentation
sentences naming one definition; `train-embeddings --prose` adds them), each from a fresh index;
`--compare-comments` does the same for the ``comment`` pairs (prose comments inside a function's body;
`train-embeddings --comments`); `--compare-hard-negatives` trains without, then with `--hard-negatives`;
`--compare-summaries N` without, then with `--summaries N` (the default model's one-sentence summaries of N
definitions as extra queries); `--compare-refit` without, then with `--refit` (once the gate and the probe passed,
a second training from the shipped embedder on every pair, the held-out files' included);
`--compare-train-seq-length T` at train-embeddings' default training length (128 tokens of code per pair), then
at T (the index reads 256); `--compare-loss NAME` with the default loss, then with `--loss NAME`.
`--weight-grid` also scores the trained embedder on the set's queries at every fusion weight the doc probe
chooses from (`probe.WEIGHTS`), each query's reciprocal rank kept, to judge how the probe chooses.
`--code REV` runs the whole benchmark on the code of that git revision (`pinned_code.py`), so editing the
checkout during a run changes nothing the run measures.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ablation_index import yardstick  # noqa: E402  (retrieval_eval.py, imported, not copied)
from paired_bootstrap import lift_interval  # noqa: E402
from pinned_code import run_pinned, without_option  # noqa: E402

from copilot_index.conventions.embeddings.probe import WEIGHTS  # noqa: E402
from copilot_index.indexer import IndexConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "copilot-index")


def project_mrr(repo_set: Path, queries: list[dict[str, Any]]) -> tuple[float, float, list[float]]:
    """MRR@10, R@10 and each query's reciprocal rank of the product (index, then search) on the set at `repo_set`."""
    results, _, _ = yardstick.run_project(CLI, repo_set, queries, 10)
    mrr, _, r10 = yardstick.score(queries, results, 10)
    ranks = [yardstick.score([query], [found], 10)[0] for query, found in zip(queries, results, strict=True)]
    return mrr, r10, ranks


@functools.cache
def naive_dense_mrr(folder: Path) -> float:
    """The naive dense baseline's MRR@10 on a set (once per set, however many variants are trained)."""
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    dense, _ = yardstick.run_baseline("dense", folder, queries, 10)
    return round(yardstick.score(queries, dense, 10)[0], 4)


def environment() -> dict[str, str]:
    """What the figures depend on besides the code: the int8 ONNX model is exported and quantized on this machine
    at first use, and training runs in float on its CPU, so a fresh install or another CPU moved them by up to three
    points (docs/search-quality.md, "The same training on a fresh install")."""
    from importlib.metadata import version

    found = {name: version(name) for name in ("torch", "onnx", "onnxruntime", "sentence-transformers", "transformers")}
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    found["cpu"] = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")
    found["vnni"] = str(any("vnni" in line for line in lines if line.startswith("flags")))
    return found


def one_set(folder: Path, minutes: float, options: list[str], backend: str,
            weight_grid: bool = False) -> dict[str, Any]:
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    row: dict[str, Any] = {"set": folder.name, "queries": len(queries)}
    row["naive_dense"] = naive_dense_mrr(folder)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / folder.name
        shutil.copytree(folder / "repo", copy / "repo", symlinks=True)
        settings = Path(tmp) / "config"
        settings.mkdir()
        (settings / "config.toml").write_text(f'[index]\nembedder_backend = "{backend}"\n', encoding="utf-8")
        previous = {name: os.environ.get(name) for name in ("COPILOT_INDEX_HOME", "COPILOT_INDEX_CONFIG_HOME")}
        os.environ["COPILOT_INDEX_HOME"] = str(Path(tmp) / "data")  # the runner's subprocesses inherit them
        os.environ["COPILOT_INDEX_CONFIG_HOME"] = str(settings)
        try:
            before, r10_before, ranks_before = project_mrr(copy, queries)
            started = time.perf_counter()
            train = subprocess.run([CLI, "train-embeddings", "--repo", str(copy / "repo"), "--minutes", str(minutes),
                                    "--json", *options],
                                   capture_output=True, text=True)
            row["train_minutes"] = round((time.perf_counter() - started) / 60, 2)
            if train.returncode != 0:
                raise SystemExit(f"train-embeddings failed on {folder.name}: {train.stderr.strip()[-600:]}")
            report = json.loads(train.stdout.strip().splitlines()[-1])
            after, r10_after, ranks_after = project_mrr(copy, queries)  # at the probe's fusion weight, if it chose
            row["dense_weight"], row["probe"] = report.get("dense_weight"), report.get("probe")
            row["refit"] = report.get("refit")
            default_weight = IndexConfig().dense_weight
            if report.get("dense_weight") not in (None, default_weight):  # the same model at the old weight
                (settings / "config.toml").write_text(
                    f'[index]\nembedder_backend = "{backend}"\ndense_weight = {default_weight}\n', encoding="utf-8")
                row["after_default_weight"] = round(project_mrr(copy, queries)[0], 4)
            if weight_grid:  # the trained model at each weight the probe chooses from, on the set's own queries
                row["after_by_weight"] = {}
                for weight in WEIGHTS:
                    (settings / "config.toml").write_text(
                        f'[index]\nembedder_backend = "{backend}"\ndense_weight = {weight}\n', encoding="utf-8")
                    mrr, _, ranks = project_mrr(copy, queries)
                    row["after_by_weight"][str(weight)] = {"mrr": round(mrr, 4), "ranks": ranks}
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    row.update(before=round(before, 4), after=round(after, 4), r10_before=round(r10_before, 4),
               r10_after=round(r10_after, 4), lift=round(after / before - 1, 4) if before else None,
               promoted=report["promoted"], pairs=report["pairs"], steps=report["train_steps"],
               held_out_pairs_mrr=[report["base_mrr@10"], report["trained_mrr@10"]],
               reciprocal_ranks={"before": ranks_before, "after": ranks_after})
    low, high, share = lift_interval([(ranks_before, ranks_after)])
    row["lift_95"], row["rounds_at_10"] = [round(low, 4), round(high, 4)], round(share, 3)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["flask", "httpx", "gin"])
    parser.add_argument("--work", type=Path, default=ROOT / ".work" / "bench" / "retrieval")
    parser.add_argument("--minutes", type=float, default=6.0, help="train-embeddings time budget per set")
    parser.add_argument("--hard-negatives", action="store_true")
    parser.add_argument("--epochs", type=int, help="train-embeddings --epochs (its default: 3)")
    parser.add_argument("--learning-rate", help="train-embeddings --learning-rate (its default: 5e-5)")
    parser.add_argument("--train-seq-length", type=int, help="train-embeddings --train-seq-length (its default: 128)")
    parser.add_argument("--batch-size", type=int, help="train-embeddings --batch-size (its default: 32)")
    parser.add_argument("--loss", help="train-embeddings --loss (its default: hardness)")
    parser.add_argument("--prose", action="store_true", help="train-embeddings --prose")
    parser.add_argument("--comments", action="store_true", help="train-embeddings --comments")
    parser.add_argument("--specs", action="store_true", help="train-embeddings --specs")
    parser.add_argument("--replay", type=int, help="train-embeddings --replay N")
    parser.add_argument("--summaries", type=int, help="train-embeddings --summaries N")
    parser.add_argument("--refit", action="store_true", help="train-embeddings --refit")
    parser.add_argument("--soup", type=int, help="train-embeddings --soup N (its default: 1): N trainings averaged")
    parser.add_argument("--seed", type=int, help="train-embeddings --seed (its default: 0): the held-out split and "
                        "the order of the batches")
    parser.add_argument("--scale", help="train-embeddings --scale (its default: 20)")
    parser.add_argument("--freeze-layers", type=int, help="train-embeddings --freeze-layers N (its default: 0)")
    compare = parser.add_mutually_exclusive_group()
    compare.add_argument("--compare-prose", action="store_true", help="train each set without, then with prose pairs")
    compare.add_argument("--compare-comments", action="store_true",
                         help="train each set without, then with comment pairs")
    compare.add_argument("--compare-summaries", type=int, metavar="N",
                         help="train each set without, then with --summaries N")
    compare.add_argument("--compare-hard-negatives", action="store_true",
                         help="train each set without, then with hard negatives")
    compare.add_argument("--compare-refit", action="store_true",
                         help="train each set without, then with --refit (a second training on every pair)")
    compare.add_argument("--compare-train-seq-length", type=int, metavar="TOKENS",
                         help="train each set at train-embeddings' default length, then with --train-seq-length TOKENS")
    compare.add_argument("--compare-loss", metavar="NAME",
                         help="train each set with train-embeddings' default loss, then with --loss NAME")
    parser.add_argument("--backend", choices=("onnx", "torch", "auto"), default="onnx",
                        help="index.embedder_backend for every index of the run (default: onnx)")
    parser.add_argument("--weight-grid", action="store_true",
                        help="also score the trained embedder at every weight the doc probe chooses from")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--code", metavar="REV", help="run on the code of this git revision, not the checkout's")
    args = parser.parse_args()
    for name in args.sets:
        if not (args.work / name / "queries.jsonl").is_file():
            parser.error(f"no retrieval set {name!r} in {args.work}: make it with /work/shared/bench/make_retrieval_set.py "
                         f"GIT_DIR {args.work / name}")
    if args.code:
        argv = [*without_option(without_option(sys.argv[1:], "--code"), "--work"), "--work", str(args.work.resolve())]
        return run_pinned(args.code, Path(__file__), argv)
    options = ["--hard-negatives"] if args.hard_negatives and not args.compare_hard_negatives else []
    options += ["--epochs", str(args.epochs)] if args.epochs else []
    options += ["--learning-rate", args.learning_rate] if args.learning_rate else []
    options += ["--train-seq-length", str(args.train_seq_length)] if args.train_seq_length else []
    options += ["--batch-size", str(args.batch_size)] if args.batch_size else []
    options += ["--loss", args.loss] if args.loss and not args.compare_loss else []
    options += ["--prose"] if args.prose and not args.compare_prose else []
    options += ["--comments"] if args.comments and not args.compare_comments else []
    options += ["--specs"] if args.specs else []
    options += ["--scale", args.scale] if args.scale else []
    options += ["--freeze-layers", str(args.freeze_layers)] if args.freeze_layers else []
    options += ["--replay", str(args.replay)] if args.replay else []
    options += ["--summaries", str(args.summaries)] if args.summaries and not args.compare_summaries else []
    options += ["--refit"] if args.refit and not args.compare_refit else []
    options += ["--seed", str(args.seed)] if args.seed is not None else []
    options += ["--soup", str(args.soup)] if args.soup else []
    variants = {"": options}
    for flag, compared in (("prose", args.compare_prose), ("comments", args.compare_comments),
                           ("hard-negatives", args.compare_hard_negatives), ("refit", args.compare_refit)):
        if compared:
            variants = {f"without {flag}": options, f"with {flag}": [*options, f"--{flag}"]}
    if args.compare_summaries:
        variants = {"without summaries": options,
                    f"with {args.compare_summaries} summaries": [*options, "--summaries", str(args.compare_summaries)]}
    if args.compare_train_seq_length:
        variants = {"at the default length": options,
                    f"at {args.compare_train_seq_length} tokens": [
                        *options, "--train-seq-length", str(args.compare_train_seq_length)]}
    if args.compare_loss:
        variants = {"with the default loss": options, f"with --loss {args.compare_loss}": [
            *options, "--loss", args.compare_loss]}
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores; embedding backend {args.backend}")
    setup = environment()
    print("environment: " + ", ".join(f"{name} {value}" for name, value in setup.items()))
    all_rows: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
    for name in args.sets:
        for label, variant in variants.items():
            row = one_set(args.work / name, args.minutes, variant, args.backend, args.weight_grid)
            all_rows[label].append(row)
            print(f"{name:8s} n={row['queries']:4d}  naive dense {row['naive_dense']:.3f}  project {row['before']:.3f} "
                  f"-> {row['after']:.3f} after train-embeddings {label} ({row['lift']:+.1%}; promoted: "
                  f"{row['promoted']}; {row['train_minutes']} min; pairs {row['pairs']['by_source']})", flush=True)
            print(f"{'':8s} lift 95 % interval {row['lift_95'][0]:+.1%} to {row['lift_95'][1]:+.1%} (paired bootstrap "
                  f"over the queries); >= +10 % in {row['rounds_at_10']:.0%} of the rounds", flush=True)
            if row.get("probe"):
                print(f"{'':8s} fusion weight {row['dense_weight']} chosen by the doc probe ({row['probe']['queries']} "
                      f"held-out docs: {row['probe']['mrr@10']}); at the default weight the trained embedder scores "
                      f"{row.get('after_default_weight', row['after']):.3f}", flush=True)
            if row.get("after_by_weight"):
                print(f"{'':8s} on the set's queries, by weight: "
                      + ", ".join(f"{w} {v['mrr']:.3f}" for w, v in row["after_by_weight"].items()), flush=True)
    summary = {label: pooled_line(label, rows) for label, rows in all_rows.items()}
    if args.json:
        report = {"environment": setup, "sets": all_rows, "pooled": summary}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def pooled_line(label: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    n = sum(r["queries"] for r in rows)
    pooled = {key: sum(r[key] * r["queries"] for r in rows) / n for key in ("naive_dense", "before", "after")}
    low, high, share = lift_interval([(r["reciprocal_ranks"]["before"], r["reciprocal_ranks"]["after"]) for r in rows])
    pooled.update(lift_95_low=low, lift_95_high=high, rounds_at_10=share)
    print(f"pooled   n={n:4d}  naive dense {pooled['naive_dense']:.3f}  project {pooled['before']:.3f} -> "
          f"{pooled['after']:.3f} {label} ({pooled['after'] / pooled['before'] - 1:+.1%}; 95 % interval {low:+.1%} to "
          f"{high:+.1%}); target: >= +10 % on each set: "
          f"{'met' if all((r['lift'] or 0) >= 0.10 for r in rows) else 'not met'}")
    return pooled


if __name__ == "__main__":
    raise SystemExit(main())

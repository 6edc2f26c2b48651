"""Figures of the shipped default code model on 2 CPU threads, against the targets of issue 3.

Load time (from disk, libraries already imported), single-line completion latency p50/p95,
generation speed, held-out perplexity, and next-line exact match / edit similarity with the
prefix only and with FIM, on standard-library files held out from pre-training.

    .venv/bin/python tests/benchmarks/bench_default_model.py [--model SPEC] [--cases 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from copilot_index.conventions.pretrain.evaluate import held_out_files, run_evaluation  # noqa: E402
from copilot_index.server.model.loader import default_model_dir, load_generator  # noqa: E402
from copilot_index.server.model.runtime import TransformersRuntime  # noqa: E402

LOAD_TARGET_S = 1.0
LATENCY_TARGET_MS = 100.0


def measure_load(spec: str | None, dtype: str, repeats: int = 3) -> float:
    """Median seconds to load model, tokenizer and template from disk."""
    load_generator(spec, dtype=dtype)  # first load warms the page cache and lazy imports
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        load_generator(spec, dtype=dtype)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory or hub id (default: shipped model)")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"),
                        help="as the engine loads it (auto: bfloat16 on CPUs with native bf16, else float32)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    generator = load_generator(args.model, dtype=args.dtype)
    first_load = time.perf_counter() - started
    load_seconds = measure_load(args.model, args.dtype)
    report = run_evaluation(TransformersRuntime(), generator, held_out_files(default_model_dir()), args.cases)
    report.update(load_seconds=round(load_seconds, 3), first_load_seconds=round(first_load, 3))
    if args.json:
        print(json.dumps(report))
        return 0

    prefix, fim = report["next_line_prefix_only"], report["next_line_fim"]
    print(f"model: {generator.source} (template {generator.template.name}), {args.threads} threads, "
          f"{str(generator.model.dtype).removeprefix('torch.')}")
    print(f"load time:            {load_seconds * 1000:.0f} ms (first load in process {first_load * 1000:.0f} ms)"
          f"  target <= {LOAD_TARGET_S:.0f} s: {verdict(load_seconds <= LOAD_TARGET_S)}")
    print(f"single-line latency:  FIM p50 {fim['latency_ms_p50']} ms, p95 {fim['latency_ms_p95']} ms; "
          f"prefix-only p50 {prefix['latency_ms_p50']} ms, p95 {prefix['latency_ms_p95']} ms"
          f"  target p50 <= {LATENCY_TARGET_MS:.0f} ms: {verdict(fim['latency_ms_p50'] <= LATENCY_TARGET_MS)}")
    print(f"generation speed:     {report['speed']['tokens_per_second']} tokens/s "
          f"({report['speed']['new_tokens']}-token completions, prompt included)")
    print(f"held-out perplexity:  {report['perplexity']['perplexity']} over {report['perplexity']['tokens']} tokens")
    print(f"next line ({fim['cases']} cases from {report['held_out_files']} held-out files):")
    print(f"  prefix only:  exact match {prefix['exact_match']:.1%}  edit similarity {prefix['edit_similarity']:.3f}")
    print(f"  FIM:          exact match {fim['exact_match']:.1%}  edit similarity {fim['edit_similarity']:.3f}")
    print(f"FIM beats prefix-only on exact match: {verdict(report['fim_beats_prefix_only'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

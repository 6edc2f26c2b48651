"""Sanity evaluation of a generator on standard-library files held out from pre-training.

Figures: held-out perplexity, next-line exact match and edit similarity with the prefix only
and with FIM (prefix + suffix), generation speed (tokens/s) and single-line latency.

    python -m copilot_index.server.model.evaluate [--model SPEC] [--cases 200] [--json]

Models are loaded and run by the model runtime the caller passes in (the server's, from that entry point), so
the figures are those of the engine's own loading and generation.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..runtime import CodeModel, ModelRuntime
from .corpus import stdlib_root

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineCase:
    """Complete line `line` (0-based) of `path`, given the text before and after it."""

    path: str
    line: int
    prefix: str
    target: str
    suffix: str


def held_out_files(model_dir: Path) -> list[tuple[str, str]]:
    """(path, text) of the files the training of the model in `model_dir` held out, from its metrics."""
    metrics_path = model_dir / "training_metrics.json"
    metrics = json.loads(metrics_path.read_text("utf-8"))
    corpus_dir = metrics.get("args", {}).get("corpus_dir")
    roots = {"stdlib": stdlib_root(), "corpus": Path(corpus_dir) if corpus_dir else None}
    files = []
    for path in metrics["corpus"]["held_out_paths"]:
        origin, _, rel = path.partition("/")
        root = roots.get(origin)
        if root is not None and (root / rel).is_file():
            files.append((path, (root / rel).read_text("utf-8")))
    return files


def next_line_cases(files: list[tuple[str, str]], count: int, seed: int = 0) -> list[LineCase]:
    """A deterministic sample of non-blank lines with at least three lines before them."""
    candidates = [
        (path, index)
        for path, text in files
        for index, line in enumerate(text.splitlines(keepends=True))
        if index >= 3 and line.strip()
    ]
    rng = random.Random(seed)
    chosen = sorted(rng.sample(candidates, min(count, len(candidates))))
    texts = dict(files)
    cases = []
    for path, index in chosen:
        lines = texts[path].splitlines(keepends=True)
        cases.append(LineCase(path, index, "".join(lines[:index]), lines[index].rstrip("\r\n"),
                              "".join(lines[index + 1 :])))
    return cases


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0 for two empty strings)."""
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def score_next_line(runtime: ModelRuntime, generator: CodeModel, cases: list[LineCase], use_fim: bool) -> dict:
    """Exact match, edit similarity and latency of single-line completions of `cases`."""
    matches, similarities, latencies = 0, [], []
    samples: list[dict] = []
    for case in cases:
        result = runtime.complete(generator, case.prefix, case.suffix, use_fim=use_fim,
                          single_line=True, max_new_tokens=32)
        predicted, target = result.text.strip(), case.target.strip()
        matches += predicted == target
        similarities.append(edit_similarity(predicted, target))
        latencies.append(result.seconds * 1000)
        if len(samples) < 5:
            samples.append({"path": case.path, "line": case.line + 1, "target": case.target,
                            "predicted": result.text})
    n = max(1, len(cases))
    return {
        "cases": len(cases),
        "exact_match": round(matches / n, 4),
        "edit_similarity": round(sum(similarities) / n, 4),
        "latency_ms_p50": round(percentile(latencies, 0.5), 1) if latencies else None,
        "latency_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
        "samples": samples,
    }


@torch.inference_mode()
def held_out_perplexity(
    generator: CodeModel, files: list[tuple[str, str]], max_tokens: int = 50_000
) -> dict:
    """Perplexity of plain left-to-right text of the held-out files, in context-sized chunks."""
    total_loss, total_tokens = 0.0, 0
    context = generator.context_length
    for _, text in files:
        ids = generator.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        for start in range(0, len(ids), context):
            chunk = ids[start : start + context]
            if len(chunk) < 2 or total_tokens >= max_tokens:
                continue
            tensor = torch.tensor([chunk])
            loss = generator.model(input_ids=tensor, labels=tensor).loss
            total_loss += float(loss) * (len(chunk) - 1)
            total_tokens += len(chunk) - 1
    mean = total_loss / max(1, total_tokens)
    return {"tokens": total_tokens, "loss": round(mean, 4), "perplexity": round(math.exp(mean), 3)}


def generation_speed(runtime: ModelRuntime, generator: CodeModel, cases: list[LineCase], new_tokens: int = 64) -> dict:
    """Decoding throughput: tokens/s over `new_tokens`-token completions, prompt time included."""
    tokens, seconds = 0, 0.0
    for case in cases:
        result = runtime.complete(generator, case.prefix, case.suffix, max_new_tokens=new_tokens,
                          ignore_stop=True)
        tokens += result.tokens
        seconds += result.seconds
    return {"completions": len(cases), "new_tokens": new_tokens,
            "tokens_per_second": round(tokens / max(seconds, 1e-9), 1)}


def run_evaluation(
    runtime: ModelRuntime,
    generator: CodeModel,
    files: list[tuple[str, str]],
    cases: int = 200,
    speed_cases: int = 10,
    seed: int = 0,
) -> dict:
    """Every figure of the sanity evaluation, as one JSON-ready dict."""
    line_cases = next_line_cases(files, cases, seed)
    prefix_only = score_next_line(runtime, generator, line_cases, use_fim=False)
    fim = score_next_line(runtime, generator, line_cases, use_fim=True)
    return {
        "held_out_files": len(files),
        "perplexity": held_out_perplexity(generator, files),
        "next_line_prefix_only": prefix_only,
        "next_line_fim": fim,
        "fim_beats_prefix_only": fim["exact_match"] > prefix_only["exact_match"],
        "speed": generation_speed(runtime, generator, line_cases[:speed_cases]),
        "threads": torch.get_num_threads(),
    }


def timed_load(runtime: ModelRuntime, spec: str | None, dtype: str = "auto") -> tuple[CodeModel, float]:
    started = time.perf_counter()
    generator = runtime.load(spec, dtype=dtype)
    return generator, time.perf_counter() - started


def main(argv: list[str] | None, runtime: ModelRuntime) -> int:
    parser = argparse.ArgumentParser(description="Sanity evaluation on held-out stdlib files.")
    parser.add_argument("--model", default=None, help="model directory or hub id (default model)")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    torch.set_num_threads(args.threads)
    generator, load_seconds = timed_load(runtime, args.model, args.dtype)
    report = run_evaluation(runtime, generator, held_out_files(runtime.default_model_dir()), args.cases)
    report["load_seconds"] = round(load_seconds, 3)
    sys.stdout.write(json.dumps(report, indent=None if args.json else 2) + "\n")
    return 0

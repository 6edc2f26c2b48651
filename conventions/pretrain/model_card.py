"""Evaluate a freshly trained default model and write its `MODEL_CARD.md`.

    python -m copilot_index.server.model.model_card server/model/default [--cases 200]

`pretrain` calls `finalize` at the end of a run; the command (the server's entry point, which passes in its
model runtime) redoes it for an exported model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from ..runtime import ModelRuntime
from .evaluate import held_out_files, run_evaluation

log = logging.getLogger(__name__)

TARGETS = {
    "load_seconds": 1.0,
    "latency_ms_p50": 100.0,
}


def finalize(
    out: Path, runtime: ModelRuntime, cases: int = 200, threads: int = 2, note: str | None = None, dtype: str = "auto"
) -> dict:
    """Run the sanity evaluation on `out` (loaded by `runtime` as the engine loads it), store it in
    training_metrics.json, write the card."""
    torch.set_num_threads(threads)
    out = Path(out)
    metrics_path = out / "training_metrics.json"
    metrics = json.loads(metrics_path.read_text("utf-8"))
    started = time.perf_counter()
    runtime.load(out, dtype=dtype)  # the first load in a process also imports the model's code
    first_load = time.perf_counter() - started
    started = time.perf_counter()
    generator = runtime.load(out, dtype=dtype)
    load_seconds = time.perf_counter() - started
    evaluation = run_evaluation(runtime, generator, held_out_files(out), cases)
    evaluation["load_seconds"] = round(load_seconds, 3)
    evaluation["first_load_seconds"] = round(first_load, 3)
    evaluation["dtype"] = str(generator.model.dtype).removeprefix("torch.")
    metrics["evaluation"] = evaluation
    if note:
        metrics["note"] = note
    metrics_path.write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    (out / "MODEL_CARD.md").write_text(render_card(metrics, out, generator.template.format), encoding="utf-8")
    log.info("wrote %s", out / "MODEL_CARD.md")
    return metrics


def size_on_disk(out: Path) -> float:
    return sum(p.stat().st_size for p in out.iterdir() if p.is_file()) / 1e6


def result_row(label: str, result: dict) -> str:
    return (
        f"| {label} | {result.get('exact_match', 0):.1%} | {result.get('edit_similarity', 0):.3f} "
        f"| {result.get('latency_ms_p50')} / {result.get('latency_ms_p95')} |"
    )


def training_recipe(metrics: dict) -> str:
    """The bullet points on what the samples looked like and where training started."""
    args = metrics["args"]
    order = "suffix-prefix-middle" if args.get("fim_order") == "spm" else "prefix-suffix-middle"
    lines = [
        f"- Causal LM with fill-in-the-middle: {args['fim_rate']:.0%} of the samples in {order} "
        f"order ({args['line_aligned_rate']:.0%} of those cut at line starts, the rest at any "
        f"character; {args.get('short_middle_rate', 0):.0%} with an editor-sized middle: one to three "
        "lines, or the rest of a line), the rest left-to-right."
    ]
    if args.get("context_rate"):
        lines.append(
            f"- {args['context_rate']:.0%} of the samples are led by snippets of other files of the "
            "same package (the blocks sharing the rarest identifiers with the text around the "
            "cursor), laid out as the engine lays out retrieved context, so the model learns to "
            "use it."
        )
    before = metrics.get("continued_from")
    if before:
        lines.append(
            f"- Continued from an earlier run of this script (`--init-from`; "
            f"{before.get('tokens_seen', 0):,} tokens, template `{before.get('fim_template')}`, "
            f"held-out perplexity {before.get('perplexity')}), with the same corpus and held-out "
            f"split; {metrics.get('tokens_seen_total', 0):,} tokens in all."
        )
    return "\n".join(lines)


def render_card(metrics: dict, out: Path, template_format: str) -> str:
    """The card's text; `template_format` is the layout of the model's FIM template."""
    metrics = {"epochs": 0.0, "train_seconds": 0.0, "tokens_per_second": 0.0, **metrics}
    if "train_seconds" not in metrics or not metrics["train_seconds"]:
        last = metrics.get("losses") or [{}]
        metrics["train_seconds"] = last[-1].get("seconds", 0.0)
    args, corpus, ev = metrics["args"], metrics["corpus"], metrics.get("evaluation", {})
    prefix, fim = ev.get("next_line_prefix_only", {}), ev.get("next_line_fim", {})
    ppl, speed = ev.get("perplexity", {}), ev.get("speed", {})
    licenses = "\n".join(f"| {name} | {count} |" for name, count in corpus["licenses"].items())
    origins = ", ".join(f"{name} ({count})" for name, count in corpus["origins"].items())
    load_ok = ev.get("load_seconds", 99) <= TARGETS["load_seconds"]
    latency_ok = (fim.get("latency_ms_p50") or 1e9) <= TARGETS["latency_ms_p50"]
    held_out = "\n".join(f"- `{p}`" for p in corpus["held_out_paths"])
    samples = "\n".join(
        f"- `{s['path']}:{s['line']}`: target `{s['target'].strip()}` → FIM `{s['predicted'].strip()}`"
        for s in fim.get("samples", [])
    )
    hyper = "\n".join(f"| `{k}` | `{v}` |" for k, v in args.items() if k != "out")
    return f"""# copilot-index default code model

A small decoder-only (Llama-style) Python code model, pre-trained from scratch on this machine
by `copilot_index.server.model.pretrain`, so that an offline install can complete code without
downloading anything. It is the fallback generator: any Hugging Face causal LM (local directory
or hub id) replaces it for real use. **It is small and weak**; the figures below are measured,
not hoped for.

## Model

- Architecture: `LlamaForCausalLM`, {args['layers']} layers, hidden {args['hidden_size']},
  MLP {args['intermediate_size']}, {args['heads']} heads, context {args['context']} tokens, tied
  embeddings; **{metrics['parameters']:,} parameters**; weights stored as bf16 safetensors
  ({size_on_disk(out):.1f} MB for the whole directory).
- Tokenizer: byte-level BPE (`tokenizers`), {args['vocab_size']} tokens, trained on the training
  files. Special tokens, each a single token: `<|endoftext|>` (0), `<|fim_prefix|>` (1),
  `<|fim_middle|>` (2), `<|fim_suffix|>` (3), `<|file_sep|>` (4), `<|fim_pad|>` (5, padding).
- FIM template `{metrics['fim_template']}` (named in `config.json` as `fim_template`):
  `{template_format}`; the model writes the middle
  and then `<|endoftext|>`. Retrieved snippets go before the current file's text as
  `<|file_sep|>path` blocks ending with `<|file_sep|>current/path`.

## Training data and licences

Python source present on the training machine: the CPython {sys.version.split()[0]} standard
library (PSF licence){' plus permissively licensed packages of the environment, at most '
    + format(args['max_chars_per_distribution'], ',') + ' characters each' if args['site_packages'] else ''}.
Test directories and files, test data, generated files (codecs tables, token lists, files
marked generated or "do not edit"), vendored code, files with data-sized lines and files over
400 kB were skipped; files were de-duplicated by content hash. Origins: {origins}.

| Licence | Files |
|---|---|
{licenses}

Training files: {corpus['train_files']} ({corpus['train_chars']:,} characters,
{metrics['corpus_tokens']:,} tokens). Skipped: {corpus['skipped']}.

Held-out split: a file is held out when `sha256(path)` falls in the lowest
{args['held_out_fraction']:.0%} ({corpus['held_out_files']} files); they were never trained on.

## Training

{training_recipe(metrics)}
- {metrics['steps']} steps of {args['batch_size']} × {args['context']} tokens:
  **{metrics['tokens_seen']:,} tokens seen** ({metrics['epochs']:.2f} epochs),
  {metrics['train_seconds'] / 60:.0f} minutes with {args['threads']} CPU thread(s), bf16 autocast
  ({metrics['tokens_per_second']:.0f} tokens/s).{(' ' + metrics['note']) if metrics.get('note') else ''}
- AdamW (β 0.9/0.95, weight decay {args['weight_decay']}), peak learning rate
  {args['learning_rate']}, {args['warmup_steps']} warm-up steps, cosine decay to
  {args['min_lr_ratio']:.0%}; gradient clipping {args['grad_clip']}; seed {args['seed']}.
- **Final training loss {metrics['final_loss']:.3f}.**

| Hyperparameter | Value |
|---|---|
{hyper}

## Evaluation (held-out stdlib files, {ev.get('threads', args['threads'])} CPU threads, {ev.get('dtype', 'float32')} weights)

- Held-out perplexity (left-to-right, {ppl.get('tokens', 0):,} tokens): **{ppl.get('perplexity')}**
  (loss {ppl.get('loss')}).
- Next-line completion of {fim.get('cases', 0)} random non-blank lines (greedy, one line, at most
  32 new tokens, prompts of up to {args['context']} tokens). Exact match compares the stripped
  line. Prefix-only prompts end at the last non-blank character before the line (the model
  writes the newline and indentation, as in training); FIM prompts hold the text before the
  line, then the text after it, in the template above.

| Prompt | Exact match | Edit similarity | Latency p50 / p95 (ms) |
|---|---|---|---|
{result_row('prefix only', prefix)}
{result_row('FIM (prefix + suffix)', fim)}

- FIM beats prefix-only on exact match: **{'yes' if ev.get('fim_beats_prefix_only') else 'no'}**.
- Generation speed: {speed.get('tokens_per_second')} tokens/s ({speed.get('new_tokens')}-token
  completions, prompt included).

Targets: load ≤ {TARGETS['load_seconds']} s — {ev.get('load_seconds')} s from disk (the first load in a fresh
process, which also imports the model code, took {ev.get('first_load_seconds')} s)
({'met' if load_ok else 'not met'}); single-line p50 ≤ {TARGETS['latency_ms_p50']:.0f} ms —
{fim.get('latency_ms_p50')} ms with FIM ({'met' if latency_ok else 'not met'}).
`tests/benchmarks/bench_default_model.py` prints these figures again.

Examples:
{samples}

## Limitations

A {metrics['parameters'] / 1e6:.0f}M-parameter model trained for an hour or two on two CPU cores
knows common Python idioms and the shape of the standard library, and little else. Expect
short, plausible completions that are often wrong. It has seen Python only.

## Held-out files (all origins; the evaluation uses the stdlib ones)

{held_out}
"""


def main(argv: list[str] | None, runtime: ModelRuntime) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--note", default=None, help="a sentence about the run, for the card")
    parser.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"),
                        help="load the model as the engine does (auto: bfloat16 on CPUs with native bf16)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    finalize(args.out, runtime, args.cases, args.threads, args.note, args.dtype)
    return 0

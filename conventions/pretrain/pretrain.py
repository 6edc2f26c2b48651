"""Pre-train the default code model: tokenizer, small Llama-style decoder, FIM causal LM.

    python -m copilot_index.server.model.pretrain --out server/model/default --minutes 85

(the server's entry point, which passes in its model runtime for the evaluation at the end).

The run is reproducible for a given `--max-steps` (fixed seeds, deterministic data order). With
`--minutes`, the learning-rate schedule advances by steps or by elapsed time, whichever is
further along, and training stops when the budget is spent, so a busy machine still ends with a
fully decayed schedule; the steps taken are recorded in `training_metrics.json`.
A usable model directory is exported every `--export-minutes` and at the end.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

from ..runtime import ModelRuntime
from .corpus import Corpus, build_corpus, collect_directory, collect_site_packages, collect_stdlib
from .dataset import SampleMix, epoch_rows, special_ids, tokenize_corpus
from .fim import FIM_ORDERS
from .model_card import finalize
from .repo_context import SiblingIndex
from .tokenizer_train import train_tokenizer

log = logging.getLogger(__name__)


@dataclass
class PretrainArgs:
    """Arguments of one pre-training run; every field is also a command-line flag."""

    out: Path = Path("server/model/default")
    minutes: float = 0.0  # wall-clock training budget; 0 means train for exactly max_steps
    max_steps: int = 2400  # with --minutes: the most steps the budget may hold
    corpus_dir: Path | None = None  # train on this directory (licence below) instead of stdlib
    corpus_license: str = "unknown"
    site_packages: bool = False  # add the environment's permissively licensed packages
    max_chars_per_distribution: int = 1_500_000
    held_out_fraction: float = 0.04
    vocab_size: int = 8192
    context: int = 512
    hidden_size: int = 256
    intermediate_size: int = 768
    layers: int = 6
    heads: int = 4
    batch_size: int = 16
    learning_rate: float = 1.5e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    fim_rate: float = 0.5
    line_aligned_rate: float = 0.5
    short_middle_rate: float = 0.0  # FIM middles of one to three lines or the rest of a line
    fim_order: str = "psm"  # "psm" or "spm" (the middle continues the prefix)
    context_rate: float = 0.0  # samples led by sibling files' snippets, as retrieval lays them out
    context_share: float = 0.3
    init_from: Path | None = None  # continue training this model directory (its tokenizer too)
    bf16: bool = True
    threads: int = 2
    seed: int = 1234
    log_every: int = 20
    export_minutes: float = 15.0
    eval_cases: int = 200
    evaluate: bool = True


def parse_args(argv: list[str] | None = None) -> PretrainArgs:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in dataclasses.fields(PretrainArgs):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif f.name in ("corpus_dir", "init_from"):
            parser.add_argument(flag, type=Path, default=None)
        elif f.name == "fim_order":
            parser.add_argument(flag, choices=sorted(FIM_ORDERS), default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return PretrainArgs(**vars(parser.parse_args(argv)))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def gather_corpus(args: PretrainArgs) -> Corpus:
    if args.corpus_dir is not None:
        files = collect_directory(args.corpus_dir, args.corpus_license, "corpus")
    else:
        files = collect_stdlib()
    corpus = build_corpus(files, args.held_out_fraction)
    if args.site_packages and args.corpus_dir is None:
        extra = build_corpus(
            collect_site_packages(max_chars_per_distribution=args.max_chars_per_distribution),
            args.held_out_fraction,
        )
        known = {f.sha256 for f in corpus.train + corpus.held_out}
        corpus.train += [f for f in extra.train if f.sha256 not in known]
        corpus.held_out += [f for f in extra.held_out if f.sha256 not in known]
        corpus.skipped.update(extra.skipped)
    return corpus


def build_model(args: PretrainArgs, tokenizer) -> LlamaForCausalLM:
    ids = special_ids(tokenizer)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=args.context,
        tie_word_embeddings=True,  # RoPE: transformers' default, theta 10,000
        bos_token_id=ids.end_of_text,
        eos_token_id=ids.end_of_text,
        pad_token_id=ids.pad,
    )
    config.fim_template = FIM_ORDERS[args.fim_order]
    return LlamaForCausalLM(config)


def starting_point(args: PretrainArgs, corpus: Corpus):
    """(tokenizer, model): new ones, or the `--init-from` model's, to continue training."""
    tokenizer: Any
    if args.init_from is None:
        tokenizer = train_tokenizer((f.text for f in corpus.train), args.vocab_size, args.context)
        return tokenizer, build_model(args, tokenizer)
    tokenizer = AutoTokenizer.from_pretrained(args.init_from, local_files_only=True)
    model = LlamaForCausalLM.from_pretrained(args.init_from, dtype=torch.float32)
    model.config.fim_template = FIM_ORDERS[args.fim_order]
    config = model.config  # the architecture is the model's own; record it as such
    args.context, args.vocab_size = config.max_position_embeddings, config.vocab_size
    args.hidden_size, args.intermediate_size = config.hidden_size, config.intermediate_size
    args.layers, args.heads = config.num_hidden_layers, config.num_attention_heads
    return tokenizer, model


def sample_mix(args: PretrainArgs) -> SampleMix:
    return SampleMix(args.fim_rate, args.line_aligned_rate, args.short_middle_rate,
                     args.fim_order, args.context_rate, args.context_share)


def learning_rate(args: PretrainArgs, step: int, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio` of the peak at `total_steps`."""
    if step < args.warmup_steps:
        return args.learning_rate * (step + 1) / args.warmup_steps
    progress = min(1.0, (step - args.warmup_steps) / max(1, total_steps - args.warmup_steps))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return args.learning_rate * (args.min_lr_ratio + (1.0 - args.min_lr_ratio) * cosine)


def make_optimizer(model: torch.nn.Module, args: PretrainArgs) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": args.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=args.learning_rate, betas=(0.9, 0.95), eps=1e-8)


def export(model, tokenizer, out: Path, metrics: dict) -> None:
    """Write a Hugging Face model directory with bf16 safetensors weights."""
    out.mkdir(parents=True, exist_ok=True)
    half = copy.deepcopy(model).to(torch.bfloat16).eval()
    half.generation_config = GenerationConfig(
        eos_token_id=sorted(set(tokenizer.all_special_ids) - {tokenizer.pad_token_id}),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        max_new_tokens=32,
        do_sample=False,
    )
    half.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "training_metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    log.info("exported model to %s (step %s)", out, metrics.get("steps"))


def previous_run(model_dir: Path) -> dict:
    """What the model that training continues from had been trained on (its own metrics)."""
    path = Path(model_dir) / "training_metrics.json"
    if not path.is_file():
        return {"path": str(model_dir)}
    before = json.loads(path.read_text("utf-8"))
    keep = ("steps", "tokens_seen", "final_loss", "train_seconds", "fim_template")
    summary = {k: before[k] for k in keep if k in before}
    summary["tokens_seen_total"] = before.get("tokens_seen_total", before.get("tokens_seen", 0))
    summary["args"] = before.get("args", {})
    summary["perplexity"] = before.get("evaluation", {}).get("perplexity", {}).get("perplexity")
    return {"path": str(model_dir), **summary}


def corpus_summary(corpus: Corpus) -> dict:
    return {
        "train_files": len(corpus.train),
        "held_out_files": len(corpus.held_out),
        "train_chars": sum(len(f.text) for f in corpus.train),
        "licenses": corpus.licenses(),
        "origins": corpus.origins(),
        "skipped": dict(corpus.skipped),
        "held_out_paths": sorted(f.path for f in corpus.held_out),
    }


def train(args: PretrainArgs, runtime: ModelRuntime) -> dict:
    """Run the whole pipeline and return the metrics written next to the model; `runtime` loads and runs the
    exported model for its evaluation."""
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    started = time.monotonic()
    corpus = gather_corpus(args)
    tokenizer, model = starting_point(args, corpus)
    data = tokenize_corpus([f.text for f in corpus.train], tokenizer, args.context)
    siblings = SiblingIndex([f.path for f in corpus.train], data.texts) if args.context_rate else None
    mix = sample_mix(args)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model: %d parameters; corpus: %d tokens", n_params, data.tokens)
    optimizer = make_optimizer(model, args)
    pad = tokenizer.pad_token_id
    metrics: dict = {
        "args": dataclasses.asdict(args),
        "parameters": n_params,
        "corpus": corpus_summary(corpus),
        "corpus_tokens": data.tokens,
        "fim_template": FIM_ORDERS[args.fim_order],
        "losses": [],
    }
    if args.init_from is not None:
        metrics["continued_from"] = previous_run(args.init_from)
    total_steps = args.max_steps
    budget = args.minutes * 60.0
    epoch, cursor, tokens_seen = 0, 0, 0
    rows = epoch_rows(data, tokenizer, args.context, args.seed, mix, siblings)
    train_started = time.monotonic()
    last_export = train_started
    step, schedule_step, loss_value, window_losses = 0, 0, float("nan"), []
    model.train()
    while step < total_steps:
        if cursor + args.batch_size > len(rows):
            epoch += 1
            rows = epoch_rows(data, tokenizer, args.context, args.seed + epoch, mix, siblings)
            cursor = 0
        batch = torch.from_numpy(rows[cursor : cursor + args.batch_size])
        if len(batch) < args.batch_size:  # corpus smaller than one batch
            batch = batch.repeat((args.batch_size + len(batch) - 1) // len(batch), 1)
            batch = batch[: args.batch_size]
        cursor += args.batch_size
        labels = batch.clone()
        labels[labels == pad] = -100
        lr = learning_rate(args, schedule_step, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(input_ids=batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        schedule_step += 1
        tokens_seen += batch.numel()
        loss_value = loss.item()
        window_losses.append(loss_value)
        elapsed = time.monotonic() - train_started
        if step % args.log_every == 0 or step == total_steps:
            mean = sum(window_losses) / len(window_losses)
            window_losses = []
            metrics["losses"].append({"step": step, "loss": round(mean, 4), "lr": lr,
                                      "tokens": tokens_seen, "seconds": round(elapsed, 1)})
            log.info("step %d/%d epoch %d loss %.4f lr %.2e %.0f tok/s", step, total_steps, epoch,
                     mean, lr, tokens_seen / max(elapsed, 1e-9))
        if budget:
            # On a shared machine the step rate varies, so the schedule follows whichever is
            # further along, steps or wall-clock time: the cosine decay ends inside the budget.
            on_time = int(elapsed / budget * total_steps)
            if on_time >= total_steps:
                log.info("wall-clock budget spent at step %d (of at most %d)", step, total_steps)
                break
            schedule_step = max(step, on_time)
        if time.monotonic() - last_export > args.export_minutes * 60 and step < total_steps:
            metrics.update(steps=step, tokens_seen=tokens_seen, final_loss=loss_value, epochs=epoch)
            export(model, tokenizer, args.out, metrics)
            last_export = time.monotonic()
    train_seconds = time.monotonic() - train_started
    last = metrics["losses"][-1]["loss"] if metrics["losses"] else loss_value
    metrics.update(
        steps=step,
        planned_steps=total_steps,
        tokens_seen=tokens_seen,
        tokens_seen_total=tokens_seen + metrics.get("continued_from", {}).get("tokens_seen_total", 0),
        epochs=epoch + (cursor / max(1, len(rows))),
        final_loss=last,
        train_seconds=round(train_seconds, 1),
        tokens_per_second=round(tokens_seen / max(train_seconds, 1e-9), 1),
        total_seconds=round(time.monotonic() - started, 1),
    )
    export(model, tokenizer, args.out, metrics)
    if args.evaluate:
        finalize_safely(args, runtime)
    return metrics


def finalize_safely(args: PretrainArgs, runtime: ModelRuntime) -> None:
    """Evaluate the exported model and write its model card; a failure here keeps the model."""
    try:
        finalize(args.out, runtime, cases=args.eval_cases, threads=args.threads)
    except Exception:  # the trained weights are already on disk; say what went wrong
        log.exception("evaluation or model card failed; rerun `python -m copilot_index.server.model.model_card %s`",
                      args.out)


def main(argv: list[str] | None, runtime: ModelRuntime) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    train(args, runtime)
    return 0

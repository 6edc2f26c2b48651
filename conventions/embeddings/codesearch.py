"""Train the shipped code-search embedder from all-MiniLM-L6-v2 on the mined corpus (`corpus.py`).

    python -m copilot_index.conventions.embeddings.codesearch --corpus .work/corpus/pairs \\
        --run-dir .work/embedder-runs/codesearch --max-hours 5
    python -m copilot_index.conventions.embeddings.codesearch --run-dir ... --export-only --out indexer/codesearch_model

Training is a sequence of segments, each one `training.fine_tune` call (MultipleNegativesRankingLoss with
in-batch negatives) over the next slice of a seeded order of the training pairs, with its own short warm-up
and a linear decay; the segments' peak learning rate decays linearly over the planned run. One AdamW serves
every segment (a fresh one per segment reset its moment estimates every `segment_steps` steps: suspected in the
unstable batch-256 GPU run, docs/search-quality.md). After every segment the model, the optimizer's state
(`optimizer.pt`) and `state.json` are saved, so a stopped run resumes where it stopped. Every
`eval_every` segments the held-out MRR@10 per language is measured; training stops when it stops improving
(`patience`), when the time budget is spent (the last checkpoint is then measured too; running the command
again after a stop measures it as well) or at `max_steps`. The best checkpoint is exported as fp16
safetensors with a model card.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from copilot_index.indexer import MINILM_EMBEDDER, resolve_embedder_path

from .codesearch_card import write_model_card
from .codesearch_eval import EvalSet, eval_sets, evaluate, export_fp16, load_sets, save_sets, score
from .corpus import CorpusPair, read_jsonl
from .pairs import Pair
from .training import TrainingArgs, fine_tune, load_trainable, new_optimizer

log = logging.getLogger(__name__)
OPTIMIZER_FILE = "optimizer.pt"


@dataclass
class CodeSearchArgs:
    """Arguments of one training run; every field is also a command-line flag."""

    corpus: Path = Path(".work/corpus/pairs")
    run_dir: Path = Path(".work/embedder-runs/codesearch")
    out: Path = Path("indexer/codesearch_model")
    base: str = MINILM_EMBEDDER
    """Where training starts: plain MiniLM (not the shipped model, which a run replaces)."""
    batch_size: int = 32
    learning_rate: float = 5e-5
    """Peak learning rate of the first segment; later segments' peaks decay linearly to `min_lr_share`."""
    min_lr_share: float = 0.2
    segment_steps: int = 100
    warmup_share: float = 0.05
    max_steps: int = 1200
    max_hours: float = 5.0
    max_seq_length: int = 256
    """Tokens read in evaluation, as the indexer reads a chunk."""
    train_seq_length: int = 128
    """Tokens of code read in a training step (half the indexer's: twice the steps in the same time)."""
    loss: str = "infonce"
    """A name in `training.LOSS_VARIANTS`; the shipped embedder was trained with ``infonce``."""
    bf16: bool = True
    """bf16 autocast for the training steps (weights stay fp32; evaluation runs in fp32)."""
    threads: int = 2
    device: str = "cpu"
    """Where the steps run: "cpu", or "cuda" on a machine with a GPU (the project never needs one)."""
    seed: int = 1234
    eval_every: int = 2
    """Segments between held-out evaluations."""
    eval_queries: int = 300
    eval_pool: int = 1000
    """Candidates per language: the queries' own code plus distractor code of the same language."""
    eval_min_queries: int = 50
    """Languages with fewer held-out pairs are not evaluated."""
    eval_languages: list[str] = field(default_factory=lambda: ["python", "go", "javascript", "rust", "typescript"])
    patience: int = 3
    min_gain: float = 0.002
    export_only: bool = False
    yardstick: Path | None = None
    """JSON of yardstick figures (see MODEL_CARD.md) to put in the model card."""


def segment_pairs(train: list[CorpusPair], segment: int, size: int, seed: int) -> list[Pair]:
    """The pairs of segment `segment`: the next `size` of a seeded order, a new order for every pass."""
    out: list[Pair] = []
    start = segment * size
    while len(out) < size:
        epoch, offset = divmod(start + len(out), len(train))
        order = list(range(len(train)))
        random.Random(seed + epoch).shuffle(order)
        for i in order[offset : offset + size - len(out)]:
            pair = train[i]
            out.append(Pair(pair.query, pair.positive, f"{pair.unit}:{pair.path}", pair.source))
    return out


def train(args: CodeSearchArgs) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    state_path = args.run_dir / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else _new_state(args)
    state["hardware"] = _hardware(args)
    train_pairs = read_jsonl(args.corpus / "train.jsonl")
    sets = _eval_sets(args, train_pairs)
    model = load_trainable(state["checkpoint"] or resolve_embedder_path(args.base), args.device)
    optimizer = _optimizer(args, state, model)
    if not state["evals"]:
        state["evals"].append({"step": 0, "results": evaluate(model, sets, args.max_seq_length)})
        _save_state(state_path, state)
    planned = max(1, args.max_steps // args.segment_steps)
    started, spent_before = time.monotonic(), state["seconds"]
    while state["segment"] < planned:
        if spent_before + time.monotonic() - started > args.max_hours * 3600:
            state["stopped"] = "time budget spent"
            break
        _run_segment(args, state, model, train_pairs, planned, optimizer)
        state["seconds"] = round(spent_before + time.monotonic() - started, 1)
        log.info("segment %d: step %d, loss %.3f, %.0fs", state["segment"], state["step"],
                 state["losses"][-1]["mean"], state["seconds"])
        stop = False
        if state["segment"] % args.eval_every == 0 or state["segment"] == planned:
            stop = _evaluate_and_stop(args, state, model, sets)
        _save_state(state_path, state)
        _prune_checkpoints(args.run_dir, state["checkpoint"])
        if stop:
            state["stopped"] = f"no gain of {args.min_gain} in {args.patience} evaluations"
            break
    else:
        state["stopped"] = f"max_steps {args.max_steps} reached"
    if state["evals"][-1]["step"] != state["step"]:  # stopped by the clock: the last checkpoint is measured too
        _evaluate_and_stop(args, state, model, sets)
    _save_state(state_path, state)
    return state


def _run_segment(args: CodeSearchArgs, state: dict, model, train_pairs: list[CorpusPair], planned: int,  # type: ignore[no-untyped-def]
                 optimizer) -> None:
    """Train one segment (a `fine_tune` call with the run's optimizer) and save its checkpoint into `state`."""
    import torch

    k = state["segment"]
    peak = args.learning_rate * max(args.min_lr_share, 1 - k / planned)
    targs = TrainingArgs(max_seconds=1e9, epochs=1, batch_size=args.batch_size, learning_rate=peak,
                         warmup_share=args.warmup_share, max_seq_length=args.train_seq_length, loss=args.loss,
                         seed=args.seed + k)
    pairs = segment_pairs(train_pairs, k, args.segment_steps * args.batch_size, args.seed)
    kind = args.device.split(":", 1)[0]
    autocast = torch.autocast(kind, dtype=torch.bfloat16) if args.bf16 else contextlib.nullcontext()
    with autocast:
        result = fine_tune(model, pairs, targs, optimizer=optimizer)
    losses = result.losses or [0.0]
    state["segment"] = k + 1
    state["step"] += result.steps
    state["pairs_seen"] += len(pairs)
    state["losses"].append({"step": state["step"], "first": losses[0], "mean": sum(losses) / len(losses),
                            "last": losses[-1], "lr": peak})
    state["checkpoint"] = _save_checkpoint(model, args.run_dir, state["step"])
    _save_optimizer(optimizer, args.run_dir, state["step"])


def _evaluate_and_stop(args: CodeSearchArgs, state: dict, model, sets: list[EvalSet]) -> bool:  # type: ignore[no-untyped-def]
    results = evaluate(model, sets, args.max_seq_length)
    state["evals"].append({"step": state["step"], "results": results})
    value = score(results, args.eval_languages)
    log.info("step %d: held-out doc MRR@10 %.4f %s", state["step"], value, {k: v["doc"] for k, v in results.items()})
    best = state["best"]
    if best is None or value > best["score"] + args.min_gain:
        keep = args.run_dir / "best"
        if keep.exists():
            shutil.rmtree(keep)
        shutil.copytree(state["checkpoint"], keep)
        state["best"] = {"step": state["step"], "score": value, "path": str(keep)}
        state["since_best"] = 0
        return False
    state["since_best"] += 1
    return state["since_best"] >= args.patience


def _hardware(args: CodeSearchArgs) -> str:
    """The model card's words for where training ran."""
    import torch

    if args.device.startswith("cuda"):
        return f"one {torch.cuda.get_device_name(torch.device(args.device))} GPU"
    return f"{args.threads} CPU threads shared with other work"


def _new_state(args: CodeSearchArgs) -> dict:
    return {"args": json.loads(json.dumps(dataclasses.asdict(args), default=str)), "segment": 0, "step": 0,
            "pairs_seen": 0, "seconds": 0.0, "checkpoint": None, "losses": [], "evals": [], "best": None,
            "since_best": 0, "stopped": None}


def _eval_sets(args: CodeSearchArgs, train_pairs: list[CorpusPair]) -> list[EvalSet]:
    path = args.run_dir / "eval_sets.json"
    if path.is_file():
        return load_sets(path)
    held = read_jsonl(args.corpus / "held_out.jsonl")
    sets = eval_sets(train_pairs, held, args.eval_queries, args.eval_pool, args.seed, args.eval_min_queries)
    save_sets(path, sets)
    return sets


def _save_checkpoint(model, run_dir: Path, step: int) -> str:  # type: ignore[no-untyped-def]
    folder = run_dir / "checkpoints" / f"step-{step:06d}"
    model.save(str(folder))
    return str(folder)


def _optimizer(args: CodeSearchArgs, state: dict, model):  # type: ignore[no-untyped-def]
    """The run's AdamW: resumed from `optimizer.pt` when that was saved at the checkpoint being resumed."""
    import torch

    optimizer = new_optimizer(model, TrainingArgs(learning_rate=args.learning_rate))
    path = args.run_dir / OPTIMIZER_FILE
    if state["checkpoint"] and path.is_file():
        saved = torch.load(path, map_location=args.device, weights_only=True)
        if saved["step"] == state["step"]:
            optimizer.load_state_dict(saved["optimizer"])
        else:
            log.warning("%s is from step %d, the checkpoint from step %d: starting a new optimizer",
                        path, saved["step"], state["step"])
    return optimizer


def _save_optimizer(optimizer, run_dir: Path, step: int) -> None:  # type: ignore[no-untyped-def]
    import torch

    tmp = run_dir / f"{OPTIMIZER_FILE}.tmp"
    torch.save({"step": step, "optimizer": optimizer.state_dict()}, tmp)
    tmp.replace(run_dir / OPTIMIZER_FILE)


def _prune_checkpoints(run_dir: Path, keep: str) -> None:
    """Remove all checkpoints but the one the saved state points at (the best one is copied aside)."""
    for folder in (run_dir / "checkpoints").glob("step-*"):
        if str(folder) != keep:
            shutil.rmtree(folder, ignore_errors=True)


def _save_state(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    tmp.replace(path)


def export(args: CodeSearchArgs) -> Path:
    """Export the best checkpoint (fp16 safetensors) with its model card."""
    state = json.loads((args.run_dir / "state.json").read_text(encoding="utf-8"))
    if state["best"] is None:
        raise SystemExit(f"{args.run_dir} has no evaluated checkpoint yet; train first.")
    out = export_fp16(Path(state["best"]["path"]), args.out)
    corpus = json.loads((args.corpus / "corpus.json").read_text(encoding="utf-8"))
    yardstick = json.loads(args.yardstick.read_text(encoding="utf-8")) if args.yardstick else None
    write_model_card(out, state, corpus, yardstick)
    return out


def parse_args(argv: list[str] | None = None) -> CodeSearchArgs:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    defaults = CodeSearchArgs()
    for item in dataclasses.fields(CodeSearchArgs):
        flag = "--" + item.name.replace("_", "-")
        value = getattr(defaults, item.name)
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        elif isinstance(value, list):
            parser.add_argument(flag, nargs="+", default=value)
        else:
            kind = Path if item.name in ("corpus", "run_dir", "out", "yardstick") else type(value)
            parser.add_argument(flag, type=kind, default=value)
    return CodeSearchArgs(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    random.seed(args.seed)
    if not args.export_only:
        state = train(args)
        log.info("stopped: %s; best %s", state["stopped"], state["best"])
    log.info("exported %s", export(args))


if __name__ == "__main__":
    main()

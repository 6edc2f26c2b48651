"""LoRA training (peft) on mined samples, until a deadline, resumable from its checkpoint."""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

Example = tuple[list[int], list[int]]
"""(prompt token ids, target token ids): loss is taken on the target only."""
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class AdapterArgs:
    """Hyperparameters of one adapter training run (recorded in the adapter's manifest)."""

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    learning_rate: float = 2e-3
    batch_size: int = 8
    max_tokens: int = 512
    max_minutes: float = 10.0
    """Wall-clock budget of the whole run: mining, rendering, training and evaluation (`run.train_adapter`)."""
    max_steps: int = 400
    epochs: int = 4
    seed: int = 0
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    checkpoint_every: int = 50
    target_samples: int = 2000
    """Samples mined from the repository, spread over its files."""


@dataclass
class TrainOutcome:
    steps: int = 0
    seconds: float = 0.0
    first_loss: float = math.nan
    final_loss: float = math.nan
    stopped: str = "done"  # "done", "time budget", "max steps", "cancelled"
    resumed_from: int = 0
    losses: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["losses"] = [round(x, 4) for x in self.losses[-50:]]
        return data


def wrap_with_lora(model: Any, args: AdapterArgs) -> Any:
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in args.target_modules if t in present] or ["q_proj", "v_proj"]
    config = LoraConfig(
        r=args.rank, lora_alpha=args.alpha, lora_dropout=args.dropout, target_modules=targets, task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


MICRO_BATCH = 2
"""Rows per forward and backward pass; a batch's gradient is summed over its micro-batches. A whole batch at once
(8 rows of 512 tokens) took SmolLM2-135M's training to 22 GB, and the kernel killed the run on a 24 GB machine;
two rows at a time give the same gradient in 5.7 GB."""


def target_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The summed cross-entropy of `batch`'s target tokens (labels other than -100).

    A plain causal LM's vocabulary projection is applied to the target positions only: over whole 512-token rows
    it cost SmolLM2-135M a quarter of each step's time and 2 GB, for logits the loss never reads. A model whose
    forward does more than project the last hidden state (logit scaling or soft-capping) is run whole."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    labels = batch["labels"][:, 1:]
    keep = labels != -100
    config = base.config
    plain = getattr(config, "final_logit_softcapping", None) is None and getattr(config, "logit_scale", None) in (None, 1)
    if plain and hasattr(base, "get_decoder") and base.get_output_embeddings() is not None:
        hidden = base.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    use_cache=False).last_hidden_state
        logits = base.get_output_embeddings()(hidden[:, :-1][keep])
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
        logits = logits[:, :-1][keep]
    return torch.nn.functional.cross_entropy(logits.float(), labels[keep], reduction="sum")


def _batch(examples: Sequence[Example], pad_id: int, max_tokens: int) -> dict[str, torch.Tensor]:
    rows, labels = [], []
    for prompt, target in examples:
        ids = (prompt + target)[-max_tokens:]
        keep = min(len(target), len(ids))
        rows.append(ids)
        labels.append([-100] * (len(ids) - keep) + ids[len(ids) - keep :])
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    label_ids = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (r, lab) in enumerate(zip(rows, labels, strict=True)):
        input_ids[i, : len(r)] = torch.tensor(r)
        label_ids[i, : len(lab)] = torch.tensor(lab)
        mask[i, : len(r)] = 1
    return {"input_ids": input_ids, "labels": label_ids, "attention_mask": mask}


def train_lora(
    peft_model: Any,
    examples: Sequence[Example],
    args: AdapterArgs,
    *,
    pad_id: int,
    work_dir: Path,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    deadline: float | None = None,
    start_key: str = "",
) -> TrainOutcome:
    """Train the LoRA weights of `peft_model` in place, stopping before a step that would end past `deadline`
    (`time.monotonic()`, reckoning it takes as long as the last) if one is given; checkpoints go to `work_dir`
    so a rerun resumes, unless they were made on another start (`start_key`: the base model, the adapter merged
    into it, the LoRA's shape), which would put weights learnt for one model on another."""
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    outcome = TrainOutcome()
    if not examples:
        outcome.stopped = "no samples"
        return outcome
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=0.0)
    steps_per_epoch = max(1, math.ceil(len(examples) / args.batch_size))
    total = min(args.max_steps, steps_per_epoch * args.epochs)
    start_step = _resume(peft_model, optimizer, work_dir, start_key)
    outcome.resumed_from = start_step
    order = list(range(len(examples)))
    started = time.monotonic()
    peft_model.train()
    step, last = start_step, 0.0
    while step < total:
        if step % steps_per_epoch == 0 or step == start_step:
            rng.shuffle(order)
        if cancel is not None and cancel.is_set():
            outcome.stopped = "cancelled"
            break
        step_started = time.monotonic()
        if deadline is not None and step_started + last >= deadline:
            outcome.stopped = "time budget"
            break
        lr = args.learning_rate * min(1.0, (step + 1) / 10) * 0.5 * (1 + math.cos(math.pi * step / total))
        for group in optimizer.param_groups:
            group["lr"] = lr
        i = (step % steps_per_epoch) * args.batch_size
        rows = [examples[j] for j in order[i : i + args.batch_size]]
        micro = [_batch(rows[k : k + MICRO_BATCH], pad_id, args.max_tokens) for k in range(0, len(rows), MICRO_BATCH)]
        targets = max(1, sum(int((m["labels"][:, 1:] != -100).sum()) for m in micro))
        optimizer.zero_grad()
        summed = 0.0
        for part in micro:  # the batch's mean loss over its target tokens, a micro-batch's share at a time
            part_loss = target_loss(peft_model, part)
            (part_loss / targets).backward()
            summed += part_loss.item()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        step += 1
        last = time.monotonic() - step_started
        outcome.losses.append(summed / targets)
        if progress is not None:
            progress("Training adapter", step, total)
        if step % args.checkpoint_every == 0:
            _checkpoint(peft_model, optimizer, work_dir, step, start_key)
    peft_model.eval()
    outcome.steps = step
    outcome.seconds = time.monotonic() - started
    if outcome.losses:
        outcome.first_loss, outcome.final_loss = outcome.losses[0], sum(outcome.losses[-10:]) / len(outcome.losses[-10:])
    if outcome.stopped == "done" and step >= args.max_steps:
        outcome.stopped = "max steps"
    return outcome


def _checkpoint(model: Any, optimizer: torch.optim.Optimizer, work_dir: Path, step: int, start_key: str) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(work_dir / "adapter"))
    torch.save(optimizer.state_dict(), work_dir / "optimizer.pt")
    (work_dir / "state.json").write_text(json.dumps({"step": step, "start": start_key}))


def _resume(model: Any, optimizer: torch.optim.Optimizer, work_dir: Path, start_key: str) -> int:
    state = work_dir / "state.json"
    if not state.is_file():
        return 0
    try:
        saved = json.loads(state.read_text())
    except (OSError, ValueError):
        saved = {}
    if not isinstance(saved, dict) or saved.get("start") != start_key or not isinstance(saved.get("step"), int):
        log.info("the adapter checkpoint in %s was made on another start (or cannot be read); training from the "
                 "beginning", work_dir)
        clear_checkpoint(work_dir)
        return 0
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = work_dir / "adapter" / "adapter_model.safetensors"
    if not weights.is_file():
        return 0
    set_peft_model_state_dict(model, load_file(str(weights)))
    optimizer.load_state_dict(torch.load(work_dir / "optimizer.pt", weights_only=True))
    step = int(saved["step"])
    log.info("resuming adapter training from step %d", step)
    return step


def clear_checkpoint(work_dir: Path) -> None:
    for name in ("state.json", "optimizer.pt"):
        (work_dir / name).unlink(missing_ok=True)

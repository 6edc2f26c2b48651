"""`copilot-index train-adapter`: mine -> score the base -> render -> train -> score -> keep, and promote a winner.

The model, its prompts and retrieval come from the engine through a `CompletionRuntime` (`rendering.py`), so the
adapter learns and is judged on exactly the prompts it will see. The whole run keeps to `AdapterArgs.max_minutes`:
each phase gets a share of the time still left, and the base, the base as served by default (with the shipped code
LoRA, which a promoted adapter replaces), the active adapter and the new one are compared on the same held-out
samples, as many as the time allowed. Only an adapter that writes the next line better than all of them is
promoted (`scoring.better`). With a default LoRA, the new one is trained on top of it and saved holding both.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from copilot_index.indexer import CopilotIndexError, Index, RepoInfo

from ..registry import weights_sha256
from .registry import AdapterRegistry
from .rendering import CompletionRuntime, SampleRenderer
from .samples import Sample, SampleSet, mine_samples, spread
from .scoring import Outcome, better, run_samples, summarize
from .stack import merged_start, stack_adapters
from .training import AdapterArgs, Example, clear_checkpoint, train_lora, wrap_with_lora

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
MINING_SHARE = 0.15
"""Of the whole budget: reading the repository's files and cutting samples from them."""
EVALUATION_SHARE = 0.4
"""Of what mining left: scoring the base, the default LoRA, the active adapter and the new one (the base's pace sets
how many)."""
RENDERING_SHARE = 0.3
"""Of what is left for rendering and training once the new adapter's evaluation is set aside."""
DEFAULT = "default (code LoRA)"
"""The name the default model as served (the base with its shipped code LoRA) is scored under, when it has one."""
ADAPTER_SLOWDOWN = 1.5
"""An adapter on top of the base (unmerged LoRA) completes slower than the base alone (twice as slow on a tiny model)."""


@dataclass
class Budget:
    """The wall-clock seconds of one whole run, shared out between its phases as it goes."""

    seconds: float
    start: float = field(default_factory=time.monotonic)
    last: float = field(default=0.0, init=False)

    @property
    def end(self) -> float:
        return self.start + self.seconds

    def lap(self, phase: str) -> None:
        """Log how long `phase` took and what is left."""
        now = time.monotonic()
        log.info("%s took %.1f s; %.1f s of %.0f s left", phase, now - (self.last or self.start),
                 self.end - now, self.seconds)
        self.last = now

    def deadline(self, share: float, reserve: float = 0.0) -> float:
        """When a phase must stop that may take `share` of the time still left, less `reserve` seconds kept for
        later phases."""
        now = time.monotonic()
        return now + share * max(0.0, self.end - reserve - now)


class HeldOut:
    """The held-out samples every model is scored on, cut to as many as every model got through in time."""

    def __init__(self, samples: Sequence[Sample], renderer: SampleRenderer) -> None:
        self.samples = list(samples)
        self.renderer = renderer
        self.runs: dict[str, list[Outcome]] = {}

    def score(self, name: str, model: Any, deadline: float) -> float:
        """Score `model` until `deadline`; the seconds it took."""
        started = time.monotonic()
        outcomes = run_samples(self.samples, lambda s: self.renderer.complete(model, s, retrieval=True),
                               deadline=deadline)
        self.runs[name] = outcomes
        del self.samples[len(outcomes):]  # later models need score no more than this one did
        return time.monotonic() - started

    def metrics(self) -> dict[str, dict[str, Any]]:
        return {name: summarize(self.samples, outcomes[: len(self.samples)]) for name, outcomes in self.runs.items()}


@dataclass
class AdapterReport:
    version: int | None = None
    path: str | None = None
    promoted: bool = False
    reason: str = ""
    samples: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def train_adapter(
    index: Index,
    runtime: CompletionRuntime,
    args: AdapterArgs | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    max_eval: int = 120,
) -> AdapterReport:
    """Mine, train, evaluate against the base and the active adapter, and promote only a winner."""
    args = args or AdapterArgs()
    budget = Budget(args.max_minutes * 60)
    registry = AdapterRegistry(index.data_dir.adapters)
    generator, renderer = runtime.base, runtime.renderer
    samples, train, report = _mine(index.repo, renderer.use_fim, args, budget)

    active = registry.active()
    default = runtime.default_adapter()
    held_out = HeldOut(spread(samples.held_out, max_eval), renderer)
    offered = len(held_out.samples)
    incumbents = [(DEFAULT, default)] if default is not None else []
    if active is not None:
        incumbents.append((f"active {active.name}", active.path))
    base_seconds = held_out.score("base", generator.model, budget.deadline(EVALUATION_SHARE / (2 + len(incumbents))))
    for name, path in incumbents:
        held_out.score(name, runtime.adapted(path), min(budget.end, time.monotonic() + ADAPTER_SLOWDOWN * base_seconds))
    budget.lap("scoring the base" + (" with and without its code LoRA" if default else "")
               + (" and the active adapter" if active else ""))
    # On top of the default LoRA, merged in (the saved adapter holds both: `stack`); before the rest is shared
    # out, because it imports peft.
    start = generator.model if default is None else merged_start(runtime.adapted(default))
    peft_model = wrap_with_lora(start, args)
    reserve = ADAPTER_SLOWDOWN * base_seconds  # for scoring the new adapter at the end
    examples = _render(train, renderer, budget.deadline(RENDERING_SHARE, reserve), progress)
    if len(examples) < len(train):
        report.samples["train_unrendered"] = len(train) - len(examples)
    budget.lap(f"rendering {len(examples)} training samples")
    pad = generator.tokenizer.pad_token_id if generator.tokenizer.pad_token_id is not None else 0
    work = index.data_dir.adapter_work
    start_key = json.dumps([str(generator.source), default.name if default is not None else None, args.rank,
                            args.alpha, list(args.target_modules)])  # a checkpoint made on another start is not resumed
    outcome = train_lora(peft_model, examples, args, pad_id=pad, work_dir=work, progress=progress, cancel=cancel,
                         deadline=budget.end - reserve, start_key=start_key)
    report.training = outcome.as_json()
    budget.lap(f"training {outcome.steps} steps")
    if outcome.stopped == "cancelled":
        _finish(report, held_out, offered, budget)
        report.reason = "training was cancelled; its checkpoint is kept, so the next run resumes"
        return report
    held_out.score("trained", peft_model, budget.end)
    _finish(report, held_out, offered, budget)
    budget.lap(f"scoring the new adapter ({len(held_out.samples)} held-out samples in all)")
    version, path = registry.reserve()
    peft_model.save_pretrained(str(path))
    stacked = stack_adapters(default, path, path) if default is not None else {}
    served = runtime.saved(path)
    registry.write_manifest(path, {**_manifest(index.repo, generator.source, samples, args, report), **stacked,
                                   **served})
    clear_checkpoint(work)
    report.version, report.path = version, str(path)
    report.promoted, report.reason = promotion(report.metrics, active.name if active else None, bool(held_out.samples))
    if report.promoted:
        registry.activate(version)
    report.budget["seconds"] = round(time.monotonic() - budget.start, 1)  # saving included
    return report


def _mine(repo: RepoInfo, use_fim: bool, args: AdapterArgs, budget: Budget) -> tuple[SampleSet, list[Sample], AdapterReport]:
    """The repository's samples, those to train on, and the report begun with their counts."""
    samples = mine_samples(repo, seed=args.seed, target_samples=args.target_samples,
                           deadline=budget.deadline(MINING_SHARE))
    if not samples.train or not samples.held_out:
        raise CopilotIndexError("Too little code to train an adapter on (no training or held-out files were found).")
    # Without the suffix in the prompt, a random span ends where nothing the model sees says why:
    # training on them teaches it to stop mid-line. Such a model learns from next lines only.
    train = samples.train if use_fim else [s for s in samples.train if s.kind == "line"]
    report = AdapterReport(samples={"train": len(train), "train_files": len(samples.train_files)},
                           budget={"minutes": args.max_minutes})
    if len(train) < len(samples.train):
        report.samples["spans_left_out"] = len(samples.train) - len(train)
    if samples.unread:
        report.samples["files_unread"] = samples.unread
    budget.lap(f"mining {len(samples.train)} training and {len(samples.held_out)} held-out samples")
    return samples, train, report


def promotion(metrics: dict[str, dict[str, Any]], active: str | None, scored: bool) -> tuple[bool, str]:
    """Whether the new adapter is promoted (it beats the base and the active adapter), and why."""
    if not scored:
        return False, ("kept the previous state: the time budget ran out before a held-out sample was scored; "
                       "give it more minutes (--max-minutes)")
    if not better(metrics["trained"], metrics["base"]):
        return False, "kept the previous state: the new adapter does not beat the base model on held-out next lines"
    if DEFAULT in metrics and not better(metrics["trained"], metrics[DEFAULT]):
        return False, ("kept the previous state: the new adapter does not beat the default model with its code LoRA "
                       "(which it would replace) on held-out next lines")
    if active is not None and not better(metrics["trained"], metrics[f"active {active}"]):
        return False, f"kept {active}: the new adapter does not beat the active one on held-out next lines"
    return True, ("promoted: it beats the base model" + (" with and without its code LoRA" if DEFAULT in metrics else "")
                  + (" and the previous adapter" if active else ""))


def _render(samples: list[Sample], renderer: SampleRenderer, deadline: float,
            progress: ProgressCallback | None) -> list[Example]:
    """Training examples of `samples`, as many as are rendered by `deadline`: every file's first sample before
    any file's second, so a cut leaves no file out."""
    ordered = spread(samples, len(samples))
    examples: list[Example] = []
    last = 0.0
    for sample in ordered:
        started = time.monotonic()
        if started + last >= deadline:
            break
        examples.append(renderer.example(sample, retrieval=True))
        last = time.monotonic() - started
        if progress is not None:
            progress("Preparing samples", len(examples), len(ordered))
    return examples


def _finish(report: AdapterReport, held_out: HeldOut, offered: int, budget: Budget) -> None:
    """Metrics over the held-out samples every model got through, how many the budget left unscored, and the
    time the run took."""
    report.metrics = held_out.metrics()
    report.samples["held_out"] = len(held_out.samples)
    if len(held_out.samples) < offered:
        report.samples["held_out_unscored"] = offered - len(held_out.samples)
    report.budget["seconds"] = round(time.monotonic() - budget.start, 1)


def _manifest(repo: RepoInfo, base: str, samples: SampleSet, args: AdapterArgs,
              report: AdapterReport) -> dict[str, Any]:
    return {
        "base_model": base,
        "base_model_sha256": weights_sha256(base),
        "repository": str(repo.root),
        "commit": repo.head_commit(),
        "training_files_sha256": samples.files_hash,
        "training_files": len(samples.train_files),
        "held_out_files": sorted(samples.held_out_files),
        "hyperparameters": dataclasses.asdict(args),
        "metrics": report.metrics,
        "training": report.training,
    }

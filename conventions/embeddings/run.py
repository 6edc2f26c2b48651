"""`copilot-index train-embeddings`: mine -> split -> score base -> fine-tune -> score -> promote -> choose the
fusion weight (`probe`) -> [refit: train again from the base on every pair] -> re-embed."""

from __future__ import annotations

import dataclasses
import logging
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from copilot_index.indexer import (
    CopilotIndexError,
    Index,
    ReembedSummary,
    active_embedder_id,
    embedder_for,
    resolve_embedder_path,
    write_active,
)

from ..registry import weights_sha256
from .pairs import MiningOptions, Pair, PairMiner, count_by_source, data_hash, split_by_file
from .probe import DocProbe, ProbeOptions, Target, reserve_targets, withhold
from .registry import MODEL_DIR, EmbedderRegistry, Lineage
from .replay import replay_pairs
from .summaries import Summarize
from .training import TrainingArgs, encoder_of, load_trainable, mrr_at_k, should_promote, train_soup

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
MIN_TRAIN_PAIRS = 8
MIN_HELD_OUT_PAIRS = 2


class NotEnoughPairsError(CopilotIndexError):
    """The repository yields too few training pairs to fine-tune and evaluate an embedder."""


@dataclass
class TrainEmbeddingsOptions:
    training: TrainingArgs = field(default_factory=TrainingArgs)
    mining: MiningOptions = field(default_factory=MiningOptions)
    held_out_share: float = 0.15
    """Share of files whose pairs are held out for the before/after evaluation."""
    eval_distractors: int = 200
    """Training-side code texts added to the held-out code as extra candidates when scoring."""
    reembed: bool = True
    """Re-embed an existing index with a promoted embedder."""
    replay: int = 0
    """Standard-library doc pairs mixed into the training side (`replay`; 0, the default: none)."""
    lock_wait_seconds: float = 0.0
    summarize: Summarize | None = None
    """The local model that writes ``summary`` pairs (with `mining.summaries` > 0)."""
    probe: ProbeOptions | None = field(default_factory=ProbeOptions)
    """The doc probe that chooses the promoted embedder's fusion weight (`probe`); None: keep the settings' weight."""
    refit: bool = False
    """Once the gate (and the probe) passed, train again from the base on every pair, the held-out files' and the
    probe's withheld docs included, and promote that model (`refit`)."""


@dataclass
class TrainEmbeddingsReport:
    version: str
    base_embedder: str
    active_embedder: str
    promoted: bool
    base_mrr: float
    trained_mrr: float
    pairs: dict[str, Any]
    train_steps: int
    train_seconds: float
    reembedded_chunks: int | None
    seconds: float
    manifest: str
    dense_weight: float | None = None
    """The fusion weight the promoted embedder is searched with, when the doc probe chose one."""
    probe: dict[str, Any] | None = None
    refit: dict[str, Any] | None = None
    """What the second training on every pair did (`refit`), when it ran."""

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["base_mrr@10"] = round(data.pop("base_mrr"), 4)
        data["trained_mrr@10"] = round(data.pop("trained_mrr"), 4)
        data["train_seconds"] = round(self.train_seconds, 1)
        data["seconds"] = round(self.seconds, 1)
        return data


def train_embeddings(
    index: Index,
    options: TrainEmbeddingsOptions | None = None,
    progress: ProgressCallback | None = None,
) -> TrainEmbeddingsReport:
    """Fine-tune the repository's current embedder on its own code and promote it if it scores better."""
    started = time.monotonic()
    repo, data_dir, config = index.repo, index.data_dir, index.config
    options = options or TrainEmbeddingsOptions()
    progress = progress or (lambda description, done, total: None)
    base_id = active_embedder_id(data_dir, config.embedder)
    base_path = resolve_embedder_path(base_id)

    miner = PairMiner(repo, config, options.mining, progress, options.summarize, data_dir.embedders / "summaries.json")
    pairs = miner.mine()
    train, held_out = split_by_file(pairs, options.held_out_share, options.training.seed)
    held_out = [p for p in held_out if p.source != "summary"]  # the gate scores what the repository says itself
    if len(train) < MIN_TRAIN_PAIRS or len(held_out) < MIN_HELD_OUT_PAIRS:
        raise NotEnoughPairsError(
            f"{repo.root} yields only {len(train)} training and {len(held_out)} held-out pairs (at least "
            f"{MIN_TRAIN_PAIRS} and {MIN_HELD_OUT_PAIRS} are needed); document more functions or commit more history."
        )
    held_out_paths = {p.path for p in held_out}
    reserved: list[Target] = []
    if options.probe is not None and "dense_weight" not in config.given:
        reserved = reserve_targets(repo, config, train, held_out_paths, options.probe, progress)
        train = withhold(train, reserved)
    distractors = _distractors(train, held_out, options.eval_distractors, options.training.seed)
    replay = replay_pairs(options.replay, options.training.seed)
    train = train + replay

    model = load_trainable(base_path)
    encode = encoder_of(model, config.max_seq_length, config.batch_size)
    progress("Scoring the base embedder", 0, 1)
    base_mrr = mrr_at_k(encode, held_out, distractors)
    result = train_soup(model, base_path, train, options.training, progress)
    progress("Scoring the trained embedder", 0, 1)
    trained_mrr = mrr_at_k(encode, held_out, distractors)
    log.info("held-out MRR@10: base %.4f, trained %.4f", base_mrr, trained_mrr)

    registry = EmbedderRegistry(data_dir.embedders)
    version, _ = registry.new_version()
    lineage = Lineage(
        version=version,
        base_embedder=base_id,
        base_weights_sha256=weights_sha256(base_path),
        commit=repo.head_commit(),
        data_sha256=data_hash(pairs + replay),
        pairs={"train": len(train), "held_out": len(held_out), "by_source": count_by_source(pairs + replay),
               "probe_reserved": len(reserved),
               **({"summarizer": options.summarize.name} if options.summarize and options.mining.summaries else {})},
        hyperparameters=dataclasses.asdict(options.training),
        metrics={
            "base_mrr@10": base_mrr,
            "trained_mrr@10": trained_mrr,
            "held_out_queries": len({p.query for p in held_out}),
        },
        promoted=should_promote(base_mrr, trained_mrr),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        train_steps=result.steps,
        train_seconds=round(result.seconds, 2),
    )
    reembedded: ReembedSummary | None = None
    if lineage.promoted:
        refit_on = pairs + replay if options.refit else None
        reembedded = promote(index, registry, lineage, model, options, progress, held_out_paths, reserved, refit_on)
    else:
        registry.save(lineage)
        log.info("the trained embedder scored %.4f, not better than %.4f; keeping %s", trained_mrr, base_mrr, base_id)
    return TrainEmbeddingsReport(
        version=version,
        base_embedder=base_id,
        active_embedder=active_embedder_id(data_dir, config.embedder),
        promoted=lineage.promoted,
        base_mrr=base_mrr,
        trained_mrr=trained_mrr,
        pairs=lineage.pairs,
        train_steps=result.steps,
        train_seconds=result.seconds,
        reembedded_chunks=reembedded.chunks if reembedded else None,
        seconds=time.monotonic() - started,
        manifest=str(registry.root / version / "manifest.json"),
        dense_weight=lineage.extra.get("dense_weight"),
        probe=lineage.extra.get("doc_probe"),
        refit=lineage.extra.get("refit"),
    )


def promote(
    index: Index,
    registry: EmbedderRegistry,
    lineage: Lineage,
    model: Any,
    options: TrainEmbeddingsOptions | None = None,
    progress: ProgressCallback | None = None,
    held_out_paths: set[str] | None = None,
    reserved: list[Target] | None = None,
    refit_on: list[Pair] | None = None,
) -> ReembedSummary | None:
    """Store a better model, choose its fusion weight on the held-out files (`probe`), with `refit_on` replace it
    by one trained from the base on those pairs (`refit`), re-embed the index with it (atomically), then make it
    the active embedder."""
    options = options or TrainEmbeddingsOptions()
    progress = progress or (lambda description, done, total: None)
    config = index.config
    model_dir = registry.model_dir(lineage.version)
    if options.probe is not None and held_out_paths and "dense_weight" not in config.given:
        if refit_on:  # probed from a folder of its own (its ONNX export goes with the next export: prune_exports)
            probed_dir = model_dir.with_name("gate-model")
            model.save(str(probed_dir))
        else:  # saved once: a second save would change the files' times, which key its ONNX export
            probed_dir = registry.save(lineage, model) / MODEL_DIR
            model = None
        try:
            _probe_weight(index, lineage, str(probed_dir), options.probe, progress, held_out_paths, reserved or [])
        finally:
            if refit_on:
                shutil.rmtree(probed_dir, ignore_errors=True)
    if refit_on:
        model = refit(lineage, refit_on, options.training, progress)
    folder = registry.save(lineage, model)
    model_id = str(model_dir)
    reembedded = None
    if options.reembed and index.exists:
        embedder = embedder_for(model_id, config)  # the backend searches and updates use: one kind of vector
        reembedded = index.swap_vectors(embedder, progress, options.lock_wait_seconds)
    write_active(index.data_dir, model_id, config.embedder, lineage.version, lineage.extra.get("dense_weight"))
    log.info("promoted %s (%s)", lineage.version, folder)
    return reembedded


def _probe_weight(index: Index, lineage: Lineage, model_id: str, options: ProbeOptions, progress: ProgressCallback,
                  held_out_paths: set[str], reserved: list[Target]) -> None:
    """Record the fusion weight the doc probe chooses for the model at `model_id` in the lineage."""
    try:
        probed = DocProbe(index.repo, index.config, held_out_paths, options, progress, reserved).run(model_id)
    except (CopilotIndexError, OSError) as exc:  # the trained model is kept: only the weight is not chosen
        log.warning("the doc probe could not run (%s); the fusion weight stays %.2f", exc, index.config.dense_weight)
        return
    lineage.extra["doc_probe"] = probed.as_json()
    lineage.extra["dense_weight"] = probed.chosen


def refit(lineage: Lineage, pairs: list[Pair], args: TrainingArgs, progress: ProgressCallback) -> Any:
    """The gate's recipe run again from the base on every pair; the gate and the probe judged the recipe on the
    model that never saw the held-out files, and this one is recorded as their successor (`lineage.extra`)."""
    base_path = resolve_embedder_path(lineage.base_embedder)
    model = load_trainable(base_path)
    result = train_soup(model, base_path, pairs, args,
                        lambda label, done, total: progress(label.replace("Training", "Training again on every pair"),
                                                            done, total))
    lineage.extra["refit"] = {"pairs": len(pairs), "steps": result.steps, "seconds": round(result.seconds, 2)}
    log.info("trained again from %s on all %d pairs: %d steps", lineage.base_embedder, len(pairs), result.steps)
    return model


def _distractors(train: list[Pair], held_out: list[Pair], limit: int, seed: int) -> list[str]:
    held = {p.positive for p in held_out}
    pool = sorted({p.positive for p in train} - held)
    random.Random(seed).shuffle(pool)
    return pool[:limit]

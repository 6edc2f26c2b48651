"""`copilot-index train-embeddings`: fine-tune the embedder on the repository and re-embed the index."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from copilot_index.conventions.embeddings.pairs import COMMENTS_PER_DEFINITION, PROSE_PER_DEFINITION, MiningOptions
from copilot_index.conventions.embeddings.probe import ProbeOptions
from copilot_index.conventions.embeddings.run import TrainEmbeddingsOptions, TrainEmbeddingsReport, train_embeddings
from copilot_index.conventions.embeddings.training import LOSS_VARIANTS, TrainingArgs
from copilot_index.indexer import CopilotIndexError

from .console import Console
from .project import open_project


def register(sub: Any) -> None:
    p = sub.add_parser(
        "train-embeddings",
        help="fine-tune the embedder on this repository and use it if it retrieves better",
        description="Mine (query, code) pairs from the repository, fine-tune the current embedder within a time "
        "budget, compare MRR@10 on held-out files before and after, and promote the new embedder (re-embedding "
        "the index atomically) only if it is better.",
    )
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--minutes", type=float, default=6.0, help="training time budget in minutes (default: 6)")
    p.add_argument("--epochs", type=int, default=3, help="most passes over the pairs (default: 3)")
    p.add_argument("--batch-size", type=int, default=32, help="pairs per batch (in-batch negatives; default: 32)")
    p.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (default: 5e-5)")
    p.add_argument("--train-seq-length", type=int, default=TrainingArgs.max_seq_length, metavar="TOKENS",
                   help=f"tokens of code read per pair while training (default: {TrainingArgs.max_seq_length}; "
                   "the index reads index.max_seq_length)")
    p.add_argument("--loss", choices=sorted(LOSS_VARIANTS), default=TrainingArgs.loss,
                   help="how the batch's wrong answers weigh: hardness, the closer the more (the default); "
                   "infonce, all alike (the loss until 6 December); gte, hardness plus the batch's other queries "
                   "and code texts as wrong answers too")
    p.add_argument("--held-out", type=float, default=0.15, metavar="SHARE",
                   help="share of files held out for evaluation (default: 0.15)")
    p.add_argument("--max-commits", type=int, default=500, help="recent commits whose messages are mined (default: 500)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--scale", type=float, default=TrainingArgs.scale,
                   help=f"inverse temperature of the loss's softmax over the batch (default: {TrainingArgs.scale:g})")
    p.add_argument("--freeze-layers", type=int, default=0, metavar="N",
                   help="keep the token embeddings and the first N transformer layers as they are (default: 0)")
    p.add_argument("--hard-negatives", action="store_true",
                   help="add a keyword-search hard negative to every pair (slower steps)")
    p.add_argument("--prose", action="store_true",
                   help="also pair documentation sentences with the one definition each names")
    p.add_argument("--comments", action="store_true",
                   help="also pair the prose comments inside each function's body with that function")
    p.add_argument("--specs", action="store_true",
                   help="also pair JavaScript and TypeScript spec titles (it('...')) with the function they test")
    p.add_argument("--replay", type=int, default=0, metavar="N",
                   help="mix N doc pairs from the Python standard library into training (default: 0)")
    p.add_argument("--summaries", type=int, default=0, metavar="N",
                   help="let the default model summarize N definitions into extra training queries "
                   "(about a second each, cached; default: 0)")
    p.add_argument("--no-reembed", action="store_true",
                   help="promote without re-embedding the index (the next `index --rebuild` does it)")
    p.add_argument("--no-probe", action="store_true",
                   help="keep index.dense_weight for the promoted embedder instead of choosing the fusion weight on "
                   "the held-out files' docs (the probe indexes a copy once: about a minute per 2,000 chunks)")
    p.add_argument("--refit", action="store_true",
                   help="once the trained embedder passed the held-out check (and the probe), train it again from "
                   "the base on every pair, the held-out files' included, and use that one (twice the training time)")
    p.add_argument("--soup", type=int, default=1, metavar="N",
                   help="train N times from the same start (seeds --seed, --seed+1, ...) and average the weights "
                   "into one embedder (N times the training time; default: 1)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a running indexer before re-embedding")
    p.add_argument("--json", action="store_true", help="print one JSON summary")
    p.set_defaults(handler=cmd_train_embeddings)

    p = sub.add_parser(
        "embedders",
        help="list the trained embedders, or switch to one of them or back to the base",
        description="List the configured base embedder and every trained version with its held-out scores. "
        "--use re-embeds the index with the chosen one (atomically) and makes it the active embedder.",
    )
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--use", metavar="VERSION", help='"base" for the configured embedder, or a version such as v002')
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a running indexer before re-embedding")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_embedders)


def _options(args: argparse.Namespace) -> TrainEmbeddingsOptions:
    if args.minutes <= 0 or args.epochs < 1 or args.batch_size < 2 or args.learning_rate <= 0:
        raise CopilotIndexError(
            "--minutes and --learning-rate must be positive, --epochs at least 1 and --batch-size at least 2."
        )
    if not 16 <= args.train_seq_length <= 512:
        raise CopilotIndexError("--train-seq-length must be between 16 and 512 tokens, such as 256.")
    if args.summaries < 0:
        raise CopilotIndexError("--summaries must be 0 or a positive number of definitions, such as 400.")
    if not 1 <= args.soup <= 8:
        raise CopilotIndexError("--soup must be a number of trainings from 1 to 8, such as 2.")
    if not 1 <= args.scale <= 100 or args.freeze_layers < 0:
        raise CopilotIndexError("--scale must be between 1 and 100, such as 20, and --freeze-layers 0 or more, such as 3.")
    if args.replay < 0:
        raise CopilotIndexError("--replay must be 0 or a positive number of pairs, such as 300.")
    if not 0 < args.held_out < 1:
        raise CopilotIndexError("--held-out must be a share between 0 and 1, such as 0.15.")
    training = TrainingArgs(
        max_seconds=args.minutes * 60,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_seq_length=args.train_seq_length,
        seed=args.seed,
        hard_negatives=args.hard_negatives,
        loss=args.loss,
        soup=args.soup,
        scale=args.scale,
        freeze_layers=args.freeze_layers,
    )
    mining = MiningOptions(max_commits=max(0, args.max_commits), summaries=args.summaries, seed=args.seed,
                           specs=args.specs)
    if args.prose:
        mining.prose_per_definition = PROSE_PER_DEFINITION
    if args.comments:
        mining.comments_per_definition = COMMENTS_PER_DEFINITION
    return TrainEmbeddingsOptions(
        training=training,
        mining=mining,
        held_out_share=args.held_out,
        reembed=not args.no_reembed,
        replay=args.replay,
        lock_wait_seconds=args.wait,
        probe=None if args.no_probe else ProbeOptions(seed=args.seed),
        refit=args.refit,
    )


def cmd_train_embeddings(args: argparse.Namespace, console: Console) -> int:
    options = _options(args)
    index, _ = open_project(args.repo, args, console)
    summarizer = None
    if options.mining.summaries:
        from ..completion.summaries import LlamaSummarizer  # loads llama.cpp: only when asked

        options.summarize = summarizer = LlamaSummarizer()
    try:
        with console.progress() as progress, index:
            report = train_embeddings(index, options, progress)
    finally:
        if summarizer is not None:
            summarizer.close()
    if console.json_mode:
        console.json(report.as_json())
    else:
        _print_report(console, report)
    return 0


def cmd_embedders(args: argparse.Namespace, console: Console) -> int:
    from copilot_index.conventions.embeddings.switch import list_embedders, use_embedder

    index, _ = open_project(args.repo, args, console)
    if args.use:
        with console.progress() as progress, index:
            summary = use_embedder(index, args.use, progress, args.wait)
        if console.json_mode:
            console.json(summary.as_json())
        else:
            done = f"; re-embedded {summary.reembedded_chunks} chunks" if summary.reembedded_chunks else ""
            console.out.print(f"Active embedder: {summary.version} ({summary.active}){done}.", markup=False)
        return 0
    rows = list_embedders(index)
    if console.json_mode:
        console.json({"embedders": rows})
        return 0
    table = Table(title="embedders")
    for column in ("", "version", "held-out MRR@10", "promoted", "fusion weight", "created", "embedder"):
        table.add_column(column)
    for row in rows:
        scores = (f"{row['base_mrr@10']:.4f} -> {row['trained_mrr@10']:.4f}"
                  if row["trained_mrr@10"] is not None else "")
        promoted = "" if row["promoted"] is None else ("yes" if row["promoted"] else "no")
        weight = "" if row["dense_weight"] is None else f"{row['dense_weight']:.2f}"
        table.add_row("*" if row["active"] else "", row["version"], scores, promoted, weight,
                      row["created_at"] or "", row["embedder"])
    console.out.print(table)
    return 0


def _print_report(console: Console, r: TrainEmbeddingsReport) -> None:
    table = Table(title=f"train-embeddings {r.version}", show_header=False)
    table.add_row("pairs", f"{r.pairs['train']} training, {r.pairs['held_out']} held out "
                  f"({', '.join(f'{k} {v}' for k, v in r.pairs['by_source'].items())})")
    table.add_row("training", f"{r.train_steps} steps in {r.train_seconds / 60:.1f} min")
    table.add_row("held-out MRR@10", f"{r.base_mrr:.4f} -> {r.trained_mrr:.4f}")
    table.add_row("promoted", "yes" if r.promoted else "no (not better than the base)")
    table.add_row("active embedder", r.active_embedder)
    if r.probe is not None:
        scores = r.probe["mrr@10"]
        table.add_row("fusion weight", f"{r.probe['chosen_weight']:.2f} (doc probe, {r.probe['queries']} docs, "
                      f"{r.probe['reserved_from_training']} of them withheld from training; "
                      f"MRR@10 {', '.join(f'{w}: {m:.3f}' for w, m in scores.items())})")
    if r.refit is not None:
        table.add_row("trained again", f"from the base on all {r.refit['pairs']} pairs: {r.refit['steps']} steps in "
                      f"{r.refit['seconds'] / 60:.1f} min (the held-out scores above are the first model's)")
    if r.reembedded_chunks is not None:
        table.add_row("re-embedded", f"{r.reembedded_chunks} chunks")
    console.out.print(table)
    console.out.print(f"Lineage: {r.manifest}", markup=False)

"""`copilot-index train-adapter` and `copilot-index eval`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.completion.config import CompletionConfig

from .console import Console
from .index_commands import data_dir_for


def register(sub: Any) -> None:
    p = sub.add_parser("train-adapter", help="train a LoRA adapter on this repository; keep it only if it is better")
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--max-minutes", type=float, default=10.0, help="training time budget (default: 10)")
    p.add_argument("--max-steps", type=int, default=400, help="at most this many optimizer steps (default: 400)")
    p.add_argument("--rank", type=int, default=16, help="LoRA rank (default: 16)")
    p.add_argument("--learning-rate", type=_positive_float, default=2e-3,
                   help="peak learning rate (default: 2e-3; larger base models want less, e.g. 5e-4)")
    p.add_argument("--batch-size", type=_positive_int, default=8, help="samples per optimizer step (default: 8)")
    p.add_argument("--json", action="store_true", help="print one JSON report")
    p.set_defaults(handler=cmd_train_adapter)

    p = sub.add_parser("eval", help="measure base, +retrieval, +adapter and +both on held-out files")
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--samples", type=int, default=120, help="held-out samples to score (default: 120)")
    p.add_argument("--adapter", type=_version, metavar="vN",
                   help="evaluate this adapter version instead of the active one (promoted or not)")
    p.add_argument("--report", type=Path, metavar="FILE.html", help="also write an HTML report with charts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_eval)


def _version(text: str) -> int:
    digits = text.lower().removeprefix("v")
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an adapter version; write it as v3 or 3")
    return int(digits)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _config(repo_root: Path, console: Console) -> CompletionConfig:
    config = CompletionConfig.load(repo_root)
    for warning in config.warnings:
        console.note(f"warning: {warning}")
    return config


def cmd_train_adapter(args: argparse.Namespace, console: Console) -> int:
    from copilot_index.conventions.adapter.training import AdapterArgs  # torch: imported only when used
    from copilot_index.server.completion.adapters import train_adapter

    repo = resolve_repo(args.repo)
    config = _config(repo.root, console)
    hyper = AdapterArgs(max_minutes=args.max_minutes, max_steps=args.max_steps, rank=args.rank, alpha=2 * args.rank,
                        learning_rate=args.learning_rate, batch_size=args.batch_size)
    with console.progress() as progress:
        report = train_adapter(repo, data_dir_for(repo, args), config, hyper, progress=progress)
    if console.json_mode:
        console.json(report.as_json())
        return 0
    for name, m in report.metrics.items():
        console.out.print(f"{name:>10}: exact match {m['exact_match']:.1%}, edit similarity {m['edit_similarity']:.3f}")
    steps, seconds = report.training.get("steps", 0), report.training.get("seconds", 0.0)
    console.out.print(f"trained {steps} steps in {seconds:.0f}s; adapter v{report.version} at {report.path}")
    console.out.print(report.reason)
    return 0


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    from copilot_index.server.completion.evaluation import evaluate_repository
    from copilot_index.server.completion.report import paired_text, render_html

    repo = resolve_repo(args.repo)
    config = _config(repo.root, console)
    with console.progress() as progress:
        report = evaluate_repository(repo, data_dir_for(repo, args), config, max_samples=args.samples,
                                     progress=progress, adapter_version=args.adapter)
    if args.report:
        args.report.write_text(render_html(report), encoding="utf-8")
    if console.json_mode:
        console.json(report)
        return 0
    table = Table(title=f"{report['held_out_samples']} held-out samples")
    for column in ("configuration", "exact match", "edit similarity", "p50 ms", "p95 ms", "vs base (won/lost, p)"):
        table.add_column(column)
    for name, r in report["configs"].items():
        if "skipped" in r:
            table.add_row(name, r["skipped"], "", "", "", "")
        else:
            table.add_row(name, f"{r['exact_match']:.1%}", f"{r['edit_similarity']:.3f}",
                          f"{r['latency_p50_ms']:.0f}", f"{r['latency_p95_ms']:.0f}", paired_text(r.get("vs_base")))
    console.out.print(table)
    console.out.print(report["answer"])
    if args.report:
        console.out.print(f"report written to {args.report}")
    return 0

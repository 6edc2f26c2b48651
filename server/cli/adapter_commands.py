"""`copilot-index train-adapter` and `copilot-index eval`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from copilot_index.conventions.registry import parse_version, version_name

from .console import Console
from .project import open_project


def register(sub: Any) -> None:
    p = sub.add_parser("train-adapter", help="train a LoRA adapter on this repository; keep it only if it is better")
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--max-minutes", type=_positive_float, default=10.0,
                   help="time budget of the whole command: mining, rendering, training and evaluation (default: 10)")
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


def _version(text: str) -> str:
    if parse_version(text.lower()) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an adapter version; write it as v3 or 3")
    return text.lower()


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


def cmd_train_adapter(args: argparse.Namespace, console: Console) -> int:
    from copilot_index.conventions.adapter.run import train_adapter  # torch: imported only when used
    from copilot_index.conventions.adapter.training import AdapterArgs
    from copilot_index.server.completion.adapters import training_runtime

    index, settings = open_project(args.repo, args, console)
    hyper = AdapterArgs(max_minutes=args.max_minutes, max_steps=args.max_steps, rank=args.rank, alpha=2 * args.rank,
                        learning_rate=args.learning_rate, batch_size=args.batch_size)
    with console.progress() as progress, index:
        report = train_adapter(index, training_runtime(index, settings.completion), hyper, progress=progress)
    if console.json_mode:
        console.json(report.as_json())
        return 0
    for name, m in report.metrics.items():
        line = m["by_kind"].get("line")
        next_line = f"; next line {line['exact_match']:.1%}, {line['edit_similarity']:.3f}" if line else ""
        console.out.print(f"{name:>10}: exact match {m['exact_match']:.1%}, edit similarity {m['edit_similarity']:.3f}"
                          f"{next_line}")
    steps, seconds = report.training.get("steps", 0), report.training.get("seconds", 0.0)
    version = version_name(report.version) if report.version else "none"
    console.out.print(f"trained {steps} steps in {seconds:.0f}s; adapter {version} at {report.path}; "
                      f"{report.budget.get('seconds', 0.0):.0f}s of {report.budget.get('minutes', 0.0):g} min in all")
    console.out.print(report.reason)
    return 0


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    from copilot_index.conventions.eval.evaluation import evaluate_repository  # torch: imported only when used
    from copilot_index.conventions.eval.report import paired_text, render_html
    from copilot_index.server.completion.adapters import EngineRuntime

    index, settings = open_project(args.repo, args, console)
    with console.progress() as progress, index:
        report = evaluate_repository(index, EngineRuntime(index, settings.completion), max_samples=args.samples,
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
    if report.get("withholding"):
        console.out.print(report["withholding"])
    if args.report:
        console.out.print(f"report written to {args.report}")
    return 0

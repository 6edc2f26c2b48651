"""`copilot-index complete --json -`: completions for JSON-line requests on stdin."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from copilot_index.indexer import CopilotIndexError
from copilot_index.server.completion.request import CompletionRequest

from .console import Console
from .project import open_project


def register(sub: Any) -> None:
    p = sub.add_parser(
        "complete",
        help="complete code at cursor positions read as JSON lines from stdin",
        description='Reads JSON lines {"path", "text", "line", "character"} (0-based cursor, as in LSP) and '
        'answers one JSON line each: {"completion", "sources", "guard", "latency_ms", "confidence", "withheld"} '
        '("withheld": the confidence was below completion.min_confidence, so nothing is suggested).',
    )
    p.add_argument("input", nargs="?", default="-", help="'-' (stdin, the default)")
    p.add_argument("--repo", default=".", help="repository whose index grounds the completions (default: .)")
    p.add_argument("--no-retrieval", action="store_true", help="do not put retrieved snippets in the prompt")
    p.add_argument("--no-adapter", action="store_true", help="use the base model without the LoRA adapter")
    p.add_argument("--json", action="store_true", help="JSON lines out (the only output format)")
    p.set_defaults(handler=cmd_complete)


def cmd_complete(args: argparse.Namespace, console: Console) -> int:
    if args.input != "-":
        raise CopilotIndexError("complete reads its requests from stdin; pass '-' (or nothing).")
    # Imported here: the model libraries (torch, transformers, llama.cpp) take seconds to import, which the
    # other commands (the pre-commit hook's `check` among them) should not pay.
    from copilot_index.server.completion.engine import CompletionEngine

    index, settings = open_project(args.repo, args, console)
    engine = CompletionEngine.configured(index, settings.completion, settings.guards, use_adapter=not args.no_adapter)
    if settings.completion.destination is not None:
        console.warn(f"note: completions are sent to {settings.completion.destination}.")
    failures = 0
    try:
        for number, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                request = CompletionRequest.from_json(json.loads(line))
                result = engine.complete(request, retrieval=not args.no_retrieval)
                console.json(result.as_json())
            except json.JSONDecodeError as exc:
                failures += 1
                console.json({"error": f"Line {number} is not valid JSON ({exc.msg}); send one JSON object per line."})
            except CopilotIndexError as exc:
                failures += 1
                console.json({"error": str(exc)})
    finally:
        engine.close()
    return 1 if failures else 0

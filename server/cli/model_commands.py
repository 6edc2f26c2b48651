"""`copilot-index import-model`: a GGUF file into a model directory `completion.model` can name."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from .console import Console


def register(sub: Any) -> None:
    p = sub.add_parser("import-model", help="de-quantize a GGUF model file into a model directory for completion.model")
    p.add_argument("gguf", type=Path, metavar="FILE.gguf", help="the GGUF file (llama.cpp, Ollama, LM Studio)")
    p.add_argument("out", type=Path, metavar="DIR", help="a new folder to write the model to")
    p.add_argument("--json", action="store_true", help="print one JSON report")
    p.set_defaults(handler=cmd_import_model)


def cmd_import_model(args: argparse.Namespace, console: Console) -> int:
    from copilot_index.server.model.gguf_import import import_gguf  # torch: imported only when used

    spinner = console.err.status(f"De-quantizing {args.gguf.name}") if console.interactive else nullcontext()
    with spinner:
        imported = import_gguf(args.gguf, args.out)
    if console.json_mode:
        console.json(imported.as_json())
        return 0
    console.out.print(
        f"{imported.architecture} model, {imported.parameters / 1e6:.0f}M parameters, {imported.vocabulary} tokens, "
        f"FIM template {imported.template!r}, written to {imported.path}"
    )
    console.out.print(f'Use it with `model = "{imported.path}"` in the [completion] section of .copilot-index.toml.')
    return 0

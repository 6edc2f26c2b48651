"""The `copilot-index` command line: one sub-command module per area."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from copilot_index.indexer import CopilotIndexError

from . import (
    adapter_commands,
    check_commands,
    complete_commands,
    index_commands,
    model_commands,
    train_commands,
    trust_commands,
)
from .console import Console


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-index",
        description="Self-hosted, offline code search and completion over your own repository.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (repeat for debug)")
    parser.add_argument(
        "--data-dir",
        help="where the index lives (default: <git-dir>/copilot-index, or $COPILOT_INDEX_HOME)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    index_commands.register(sub)
    complete_commands.register(sub)
    adapter_commands.register(sub)
    check_commands.register(sub)
    train_commands.register(sub)
    model_commands.register(sub)
    trust_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.ERROR)
    _quiet_hf_progress()
    console = Console(json_mode=bool(getattr(args, "json", False)))
    try:
        return int(args.handler(args, console) or 0)
    except CopilotIndexError as exc:
        console.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.error(
            "Interrupted; everything finished so far is kept, and the next `copilot-index index` completes the rest."
        )
        return 130


def _quiet_hf_progress() -> None:
    """Model loading must not draw progress bars or chatter: stderr is for our own messages.

    Set through the environment, before transformers is imported, so commands that never
    load a model do not pay for importing it."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"  # nothing about the user's machine is ever reported
    os.environ["DO_NOT_TRACK"] = "1"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

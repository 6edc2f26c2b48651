"""What every command starts from: the repository's index and its settings, read once."""

from __future__ import annotations

import argparse

from copilot_index.indexer import Index
from copilot_index.server.settings import Settings

from .console import Console


def open_project(path: str, args: argparse.Namespace, console: Console) -> tuple[Index, Settings]:
    """The index of the repository at `path` (in `--data-dir` if given) and its settings; warnings are noted once."""
    index = Index.open(path, data_dir=args.data_dir)
    settings = Settings.build(index.root)
    for warning in settings.warnings:
        console.warn(f"warning: {warning}")
    index.config = settings.index
    return index, settings

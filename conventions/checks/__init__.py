"""Pre-commit convention checks (`copilot-index check`): guards plus declared and learned conventions."""

from __future__ import annotations

from .changes import ChangedFile, all_files, staged_changes, worktree_changes
from .checker import ConventionChecker, Violation
from .config import ConventionsConfig
from .learned import LearnedConventions, load_or_mine, mine

__all__ = [
    "ChangedFile",
    "ConventionChecker",
    "ConventionsConfig",
    "LearnedConventions",
    "Violation",
    "all_files",
    "load_or_mine",
    "mine",
    "staged_changes",
    "worktree_changes",
]

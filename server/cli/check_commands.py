"""`copilot-index check`: guards and conventions on added and changed lines (the pre-commit hook)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from copilot_index.conventions.checks import (
    ChangedFile,
    ConventionChecker,
    all_files,
    load_or_mine,
    staged_changes,
    worktree_changes,
)
from copilot_index.conventions.checks.changes import git
from copilot_index.indexer import CopilotIndexError, RepoInfo

from .console import Console
from .project import open_project


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="check added and changed lines for secrets, insecure code, licence headers and conventions",
        description="Compiler-style output (path:line:col: CODE message); exits 1 on a violation. "
        "With no files and no flag, checks the staged diff (as a pre-commit hook would).",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--staged", action="store_true", help="check the staged diff (the default without FILES)")
    scope.add_argument("--all", action="store_true", help="check every line of every tracked file")
    p.add_argument("files", nargs="*", metavar="FILES", help="check the lines of these files that differ from HEAD")
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--no-learned", action="store_true", help="skip conventions learned from the repository")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_check)


def _changes(repo: RepoInfo, args: argparse.Namespace) -> list[ChangedFile]:
    root = repo.root
    if args.all:
        paths = git(root, "ls-files").splitlines() if repo.is_git else [
            p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts
        ]
        return all_files(root, paths)
    if args.files:
        if args.staged:
            raise CopilotIndexError("Pass either --staged or FILES, not both.")
        return worktree_changes(root, [_relative(root, f) for f in args.files], repo.is_git)
    if not repo.is_git:
        raise CopilotIndexError(f"{root} is not a git repository, so there is no staged diff; pass FILES or --all.")
    return staged_changes(root)


def _relative(root: Path, name: str) -> str:
    path = Path(name)
    full = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not full.is_relative_to(root):
        raise CopilotIndexError(f"{name} is outside the repository {root}; pass files inside it.")
    return full.relative_to(root).as_posix()


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    index, settings = open_project(args.repo, args, console)
    repo, conventions = index.repo, settings.conventions
    files = _changes(repo, args)
    learned = None
    if conventions.learned and not args.no_learned and files:
        learned = load_or_mine(repo.root, index.data_dir.learned_conventions, repo.is_git)
    violations = ConventionChecker(repo.root, conventions, settings.guards, learned).check(files)
    errors = [v for v in violations if v.severity == "error"]
    if console.json_mode:
        console.json({"files_checked": len(files), "violations": [v.as_json() for v in violations],
                      "errors": len(errors), "warnings": len(violations) - len(errors)})
    else:
        for v in violations:
            console.out.print(v.compiler_line(), markup=False, highlight=False, soft_wrap=True, crop=False)
        if violations:
            console.note(f"{len(errors)} error(s), {len(violations) - len(errors)} warning(s) in {len(files)} file(s).")
    return 1 if errors else 0

"""`copilot-index index | search | status`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.syntax import Syntax
from rich.table import Table

from copilot_index.indexer import MODES, CopilotIndexError, IndexStatus, IndexSummary, SearchResult

from .console import Console
from .project import open_project

MAX_RESULTS = 1000


def register(sub: Any) -> None:
    p = sub.add_parser("index", help="index a repository (incremental)")
    p.add_argument("path", nargs="?", default=".", help="repository or folder to index (default: .)")
    p.add_argument("--rebuild", action="store_true", help="delete the index and build it from scratch")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another indexer to finish instead of exiting")
    p.add_argument("--json", action="store_true", help="print one JSON summary")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query", help="what to look for; '-' reads one query per line from stdin")
    p.add_argument("--repo", default=".", help="repository to search (default: .)")
    p.add_argument("-k", type=int, default=10, help="number of results (default: 10)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval mode (default: hybrid)")
    p.add_argument("--lang", help="only this language (e.g. python)")
    p.add_argument("--path", dest="path_glob", metavar="GLOB", help="only paths matching this glob")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("status", help="what the index holds and what changed since")
    p.add_argument("--repo", default=".", help="repository (default: .)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_status)


def cmd_index(args: argparse.Namespace, console: Console) -> int:
    index, _ = open_project(args.path, args, console)
    repo = index.repo
    if repo.is_git and repo.head_commit() is None:
        console.note(f"note: {repo.root} has no commits yet; indexing the files in its working tree.")
    if not repo.is_git:
        console.note(f"note: {repo.root} is not a git repository; indexing it as a plain folder.")
    with console.progress() as progress:
        summary = index.update(rebuild=args.rebuild, progress=progress, lock_wait_seconds=args.wait)
    if console.json_mode:
        console.json(summary.as_json())
    else:
        _print_summary(console, summary, verbose=args.verbose > 0)
    return 0


def _print_summary(console: Console, s: IndexSummary, verbose: bool) -> None:
    commit = s.commit[:12] if s.commit else "no commit"
    console.out.print(
        f"Indexed {s.files_scanned} files ({s.files_changed} changed) at {commit} in {s.seconds:.1f}s: "
        f"{s.chunks_embedded} chunks embedded, {s.chunks_reused} reused, {s.chunks_deleted} deleted."
    )
    if s.secrets_redacted:
        console.out.print(f"{s.secrets_redacted} secret(s) were redacted before storing.")
    if s.skipped:
        if not verbose:
            console.out.print(f"{len(s.skipped)} path(s) skipped (run with -v to list them).")
            return
        for path, reason in s.skipped:
            console.out.print(f"  skipped {path}: {reason}", markup=False)


def cmd_search(args: argparse.Namespace, console: Console) -> int:
    if not 1 <= args.k <= MAX_RESULTS:
        raise CopilotIndexError(f"-k must be between 1 and {MAX_RESULTS}.")
    index, _ = open_project(args.repo, args, console)
    with index:
        if args.query == "-":
            for line in sys.stdin:
                query = line.strip()
                if query:
                    results = index.search(query, args.k, args.mode, args.lang, args.path_glob)
                    console.json({"query": query, "results": [r.as_json() for r in results]})
            return 0
        results = index.search(args.query, args.k, args.mode, args.lang, args.path_glob)
    if console.json_mode:
        console.json({"query": args.query, "results": [r.as_json() for r in results]})
    else:
        _print_results(console, results)
    return 0


def _print_results(console: Console, results: list[SearchResult]) -> None:
    if not results:
        console.out.print("No results.")
        return
    for r in results:
        title = f"[bold cyan]{r.path}[/]:{r.start_line}-{r.end_line}  [green]{r.symbol or r.kind}[/]  [dim]{r.score:.3f}[/]"
        console.out.print(title)
        lines = r.text.splitlines()
        snippet = "\n".join(lines[:12]) + ("\n…" if len(lines) > 12 else "")
        lexer = r.language if r.language not in ("text", "") else "text"
        console.out.print(Syntax(snippet, lexer, line_numbers=True, start_line=r.start_line, word_wrap=True))


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    index, settings = open_project(args.repo, args, console)
    with index:
        status = index.status()
    destination = settings.completion.destination
    if console.json_mode:
        console.json({**status.as_json(), "completions_sent_to": destination})
    else:
        _print_status(console, status, destination)
    return 0


def _print_status(console: Console, s: IndexStatus, destination: str | None) -> None:
    table = Table(title=f"copilot-index: {s.root}", show_header=False)
    table.add_row("index", s.data_dir)
    table.add_row("files / chunks", f"{s.files} / {s.chunks}")
    table.add_row("embedder", f"{s.embedder} ({s.embedder_dimension} dimensions)")
    head_note = "" if s.commit == s.head else f" (HEAD is {s.head[:12] if s.head else 'none'})"
    table.add_row("indexed commit", (s.commit[:12] if s.commit else "none") + head_note)
    table.add_row("pending changes", f"{s.pending_new} new, {s.pending_modified} modified, {s.pending_deleted} deleted")
    if s.files_skipped:
        table.add_row("files skipped", f"{s.files_skipped} (`copilot-index -v index` lists them with the reason)")
    table.add_row("database size", f"{s.database_bytes / 1e6:.1f} MB")
    table.add_row("secrets redacted", str(s.secrets_redacted))
    table.add_row("completions", f"sent to {destination}" if destination else "made on this machine")
    for lang, n in s.chunks_per_language.items():
        table.add_row(f"  {lang}", f"{n} chunks")
    console.out.print(table)

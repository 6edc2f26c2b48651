"""How many snippets retrieval puts in a completion's prompt, in the completion sets as they are (the held-out files
are not indexed) and as an editor's index has them (the file being edited is indexed too): no model runs, only
retrieval, with the engine's settings (`completion.retrieval_snippets`) and a budget that never binds.

    .venv/bin/python tests/benchmarks/bench_editor_snippets.py SET_DIR ... [--code REV] [--json OUT]

SET_DIR: sets made by `/work/shared/bench/make_completion_set.py`; the editor's copy is `bench_default_model_choice.py
--in-editor`'s (made on first use). `--code REV` counts with the library code of a git revision (`pinned_code.py`).
Before 7 December the edited file's own chunks took places among the search's results and were then dropped, so
in the editor's case a prompt got fewer snippets, or none.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_default_model_choice import editor_repo, index_set  # noqa: E402
from pinned_code import rerun_over  # noqa: E402


def count(repo: Path, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Snippets retrieved for each infill case's cursor in `repo`'s index."""
    from copilot_index.indexer import Index
    from copilot_index.server.completion.config import CompletionConfig
    from copilot_index.server.completion.context import ContextRetriever

    retriever = ContextRetriever(Index.open(repo), candidates=CompletionConfig().retrieval_snippets)
    counts = []
    for case in cases:
        lines = case["text"].split("\n")
        prefix = "\n".join(lines[: case["line"]] + [lines[case["line"]][: case["character"]]])
        suffix = "\n".join([lines[case["line"]][case["character"]:], *lines[case["line"] + 1:]])
        counts.append(len(retriever.retrieve(case["path"], prefix, suffix, 1_000_000, lambda text: len(text) // 4)))
    return {"cases": len(counts), "snippets_mean": round(sum(counts) / max(1, len(counts)), 2),
            "no_snippet": counts.count(0), "fewer_than_asked": sum(c < retriever.candidates for c in counts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--code", metavar="REV", help="count with the code of this git revision, not the checkout's")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    if args.code:
        return rerun_over(args.code, __file__, sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report: dict[str, Any] = {}
    for folder in args.sets:
        lines = (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines()
        cases = [c for c in map(json.loads, filter(str.strip, lines)) if c["mode"] == "infill"]
        report[folder.name] = {}
        for setting, repo in (("set", folder / "repo"), ("in_editor", editor_repo(folder))):
            index_set(repo)
            report[folder.name][setting] = count(repo, cases)
        sys.stderr.write(f"{folder.name}: {report[folder.name]}\n")
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

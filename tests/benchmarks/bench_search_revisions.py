"""The default search of several git revisions on the retrieval sets, and the naive dense baseline, in one run.

For each revision, `retrieval_eval.py project` (the shared yardstick, run as it is) indexes every set with the
`copilot-index` CLI on that revision's code (`pinned_code.py`: the checkout can change during the run), in a
fresh data folder, with int8 ONNX vectors (`index.embedder_backend = "onnx"`, as the product picks on a CPU).
Then `retrieval_eval.py dense` scores the naive baseline on the same sets. This is how a chunking or ranking
change is compared before and after (docs/search-quality.md). `--per-query` also writes each query's reciprocal
rank and top three results per revision, to see which queries a change moved (scored in this process, with the
yardstick's own search and `score`, instead of its `main`).

    .venv/bin/python tests/benchmarks/bench_search_revisions.py REV [REV ...] [--sets flask httpx gin]
        [--no-dense] [--per-query OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ablation_index import BENCH, yardstick
from pinned_code import pinned_environment

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / ".work" / "bench" / "retrieval"
CLI = str(Path(sys.executable).parent / "copilot-index")


def fresh_environment(rev: str, tmp: str) -> dict[str, str]:
    """REV's code first on PYTHONPATH, and data and settings folders of its own, with int8 ONNX vectors."""
    _, env = pinned_environment(rev)
    settings = Path(tmp, "settings")
    settings.mkdir()
    (settings / "config.toml").write_text('[index]\nembedder_backend = "onnx"\n')
    return {**env, "COPILOT_INDEX_HOME": str(Path(tmp, "data")), "COPILOT_INDEX_CONFIG_HOME": str(settings)}


def per_query(rev: str, folders: list[Path]) -> dict[str, list[dict]]:
    """Each query's reciprocal rank and top three results on REV's code (the yardstick's own search and score)."""
    out: dict[str, list[dict]] = {}
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(fresh_environment(rev, tmp))
            for folder in folders:
                queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line]
                results, _, _ = yardstick.run_project(CLI, folder, queries, 10)
                mrr, r1, r10 = yardstick.score(queries, results, 10)
                print(f"project  {folder.name:22s} n={len(queries):4d} MRR@10={mrr:.3f} R@1={r1:.3f} R@10={r10:.3f}",
                      flush=True)
                out[folder.name] = [
                    {"name": q["name"], "path": q["path"], "line": q["line"], "rr": yardstick.score([q], [r], 10)[0],
                     "top": [(x["path"], x["start_line"], x["end_line"], x.get("symbol")) for x in r[:3]]}
                    for q, r in zip(queries, results, strict=True)]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revisions", nargs="+", metavar="REV", help="git revisions to compare, in order")
    parser.add_argument("--sets", nargs="+", default=["flask", "httpx", "gin"], help=f"set names under {SETS}")
    parser.add_argument("--no-dense", action="store_true", help="skip the naive dense baseline")
    parser.add_argument("--per-query", type=Path, metavar="OUT", help="also write every query's rank per revision")
    args = parser.parse_args()
    folders = [SETS / name for name in args.sets]
    missing = [str(f) for f in folders if not (f / "queries.jsonl").is_file()]
    if missing:
        parser.error(f"no retrieval set at {', '.join(missing)}: make it with {BENCH}/make_retrieval_set.py")
    yardstick_script = str(BENCH / "retrieval_eval.py")
    ranks: dict[str, dict[str, list[dict]]] = {}
    for rev in args.revisions:
        print(f"== default search at {rev}", flush=True)
        if args.per_query:
            ranks[rev] = per_query(rev, folders)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, yardstick_script, "project", *map(str, folders), "--cli", CLI],
                           env=fresh_environment(rev, tmp), check=True)
    if not args.no_dense:
        print("== naive dense", flush=True)
        subprocess.run([sys.executable, yardstick_script, "dense", *map(str, folders)], check=True)
    if args.per_query:
        args.per_query.write_text(json.dumps(ranks, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

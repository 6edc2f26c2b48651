"""What deleted keyword rows did to search before the indexer rebuilt its keyword table (issue 19, part 3).

A contentless FTS5 table cannot take a deleted row's tokens back out of its bm25 statistics: each re-indexed file
left its old rows counted in the row total and the token totals. Since 7 December the indexer rebuilds the table
once the rows deleted since its last rebuild reach a tenth of the live ones (`indexer/store/writes.py`). This
indexes each retrieval set with the real `copilot-index index` (reusing an index already there), copies the index,
and in the copies deletes and writes back every keyword row `--rounds` times, as re-indexing every file that often
did before; then it runs every query through the real `copilot-index search` on each copy. Scored with
retrieval_eval's own `score`; prints MRR@10 per set and pooled, and each drifted copy's pooled change against the
rebuilt index with its 95 % interval (paired bootstrap over the queries, within each set).

    .venv/bin/python tests/benchmarks/bench_keyword_drift.py [--sets flask httpx gin superagent stylus jsdoc]
        [--rounds 1 3] [--work .work/bench/retrieval] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ablation_index import yardstick
from bench_keyword_stemming import CLI, ROOT, search
from paired_bootstrap import lift_interval

from copilot_index.indexer.store import ChunkStore
from copilot_index.indexer.store.writes import INSERT_KEYWORDS


def drift(db: Path, rounds: int) -> None:
    """Delete and write back every keyword row `rounds` times, as re-indexing every file did without a rebuild."""
    store = ChunkStore(db, create=False)
    rows = store.keyword_rows()
    with store.transaction():
        for _ in range(rounds):
            store.conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(row[0],) for row in rows])
            store.conn.executemany(INSERT_KEYWORDS, rows)
    store.close()


def run_set(folder: Path, rounds: list[int]) -> dict[str, list[float]]:
    repo = folder / "repo"
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    subprocess.run([CLI, "index", str(repo)], check=True, stdout=subprocess.DEVNULL)
    ranks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in [0, *rounds]:
            label = "rebuilt" if count == 0 else f"drifted x{count}"
            data = Path(tmp) / label.replace(" ", "-")
            shutil.copytree(repo / ".git" / "copilot-index", data, ignore=shutil.ignore_patterns("*.lock"))
            if count:
                drift(data / "index.db", count)
            results = search(data, repo, queries)
            ranks[label] = [yardstick.score([q], [r], 10)[0] for q, r in zip(queries, results, strict=True)]
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["flask", "httpx", "gin", "superagent", "stylus", "jsdoc"])
    parser.add_argument("--rounds", nargs="+", type=int, default=[1, 3])
    parser.add_argument("--work", type=Path, default=ROOT / ".work" / "bench" / "retrieval")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = {}
    for name in args.sets:
        table[name] = run_set(args.work / name, args.rounds)
        print(f"{name:10} n={len(table[name]['rebuilt']):4}  " +
              "  ".join(f"{label} {sum(rr) / len(rr):.3f}" for label, rr in table[name].items()), flush=True)
    labels = list(next(iter(table.values())))
    pooled = {label: [x for ranks in table.values() for x in ranks[label]] for label in labels}
    print(f"pooled     n={len(pooled['rebuilt']):4}  " +
          "  ".join(f"{label} {sum(rr) / len(rr):.3f}" for label, rr in pooled.items()))
    for label in labels[1:]:
        low, high, _ = lift_interval([(ranks["rebuilt"], ranks[label]) for ranks in table.values()])
        change = sum(pooled[label]) / sum(pooled["rebuilt"]) - 1
        print(f"{label} / rebuilt: {change:+.1%} (95 % interval {low:+.1%} to {high:+.1%})")
    if args.json:
        args.json.write_text(json.dumps(table))


if __name__ == "__main__":
    main()

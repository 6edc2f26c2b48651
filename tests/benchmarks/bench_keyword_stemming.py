"""The keyword index with FTS5's porter stemmer, against the index as the product builds it (issue 19, part 3).

The keyword side matches a query's words as written: "Empties the contents of an element." never meets
`emptyEl`'s "empty". This indexes each retrieval set with the real `copilot-index index` (reusing an index
already there, as /work/shared/bench/retrieval_eval.py's `project` run leaves it), copies the index twice,
rebuilds one copy's keyword table with `tokenize = 'porter unicode61 remove_diacritics 2'` from the stored
chunks (the same `keyword_text` columns the indexer writes), and runs every query through the real
`copilot-index search` on both copies. Scored with retrieval_eval's own `score`; prints MRR@10 per set, pooled,
and the pooled change with its 95 % interval (paired bootstrap over the queries, within each set).

    .venv/bin/python tests/benchmarks/bench_keyword_stemming.py [--sets flask httpx gin superagent videojs]
        [--work .work/bench/retrieval] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ablation_index import yardstick
from paired_bootstrap import lift_interval

from copilot_index.indexer.store import ChunkStore
from copilot_index.indexer.store.writes import INSERT_KEYWORDS

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("copilot-index"))
PORTER = "porter unicode61 remove_diacritics 2"


def stem_keyword_table(db: Path) -> None:
    """Rebuild the copy's keyword table with the porter stemmer from the chunks it stores."""
    store = ChunkStore(db, create=False)
    with store.transaction():
        store.conn.execute("DROP TABLE chunks_fts")
        store.conn.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(symbol, path, body, content = '', "
                           f"contentless_delete = 1, tokenize = '{PORTER}')")
        store.conn.executemany(INSERT_KEYWORDS, store.keyword_rows())
    store.close()


def search(data: Path, repo: Path, queries: list[dict]) -> list[list[dict]]:
    done = subprocess.run([CLI, "--data-dir", str(data), "search", "-", "--repo", str(repo), "--json", "-k", "10"],
                          input="\n".join(q["query"].replace("\n", " ") for q in queries) + "\n",
                          capture_output=True, text=True, check=True)
    return [json.loads(line)["results"] for line in done.stdout.splitlines() if line.strip()]


def run_set(folder: Path) -> dict[str, list[float]]:
    repo = folder / "repo"
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    subprocess.run([CLI, "index", str(repo)], check=True, stdout=subprocess.DEVNULL)
    ranks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("as built", "porter"):
            data = Path(tmp) / label.replace(" ", "-")
            shutil.copytree(repo / ".git" / "copilot-index", data, ignore=shutil.ignore_patterns("*.lock"))
            if label == "porter":
                stem_keyword_table(data / "index.db")
            results = search(data, repo, queries)
            ranks[label] = [yardstick.score([q], [r], 10)[0] for q, r in zip(queries, results, strict=True)]
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["flask", "httpx", "gin", "superagent", "videojs"])
    parser.add_argument("--work", type=Path, default=ROOT / ".work" / "bench" / "retrieval")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = {}
    for name in args.sets:
        table[name] = run_set(args.work / name)
        built, stemmed = (sum(rr) / len(rr) for rr in table[name].values())
        print(f"{name:10} n={len(table[name]['porter']):4}  as built {built:.3f}  porter {stemmed:.3f}", flush=True)
    built = [x for ranks in table.values() for x in ranks["as built"]]
    stemmed = [x for ranks in table.values() for x in ranks["porter"]]
    low, high, _ = lift_interval([(ranks["as built"], ranks["porter"]) for ranks in table.values()])
    print(f"pooled     n={len(built):4}  as built {sum(built) / len(built):.3f}  porter {sum(stemmed) / len(stemmed):.3f}"
          f"  (porter / as built {sum(stemmed) / sum(built) - 1:+.1%}; 95 % interval {low:+.1%} to {high:+.1%})")
    if args.json:
        args.json.write_text(json.dumps(table))


if __name__ == "__main__":
    main()

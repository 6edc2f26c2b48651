"""Search ablations on retrieval sets built by make_retrieval_set.py (issue 19, parts 1 and 3).

Scores the project's own Indexer and HybridSearch on each set, once per ablation, next to the naive `dense`
baseline of /work/shared/bench/retrieval_eval.py computed in the same run (MiniLM over the yardstick's regex
definition chunks, cosine). Scoring is retrieval_eval's own `score` (imported, not copied): a hit is a result
in the right file whose line range holds the definition line and spans at most 200 lines. Prints MRR@10 and
R@10 per set, pooled and per language. `--documented` asks instead for the functions whose docs the set kept;
`--target` prints issue 19's target check (default hybrid above naive dense everywhere, pooled ratio >= 1.2).

An ablation is a `+`-joined list of tokens (`code-only+class=1+sym=0.2`); `default` is the product as is.
Index-side tokens (each combination is indexed once per set; vectors are cached by the exact text embedded):
  fp32 | int8            embedder backend: PyTorch fp32 or ONNX int8 (default: what `auto` picks here)
  minilm                 plain all-MiniLM-L6-v2 instead of the shipped default embedder
  embedder=PATH          a sentence-transformers folder instead (no `+` in PATH)
  seq=N                  embedder max_seq_length (above 256 lifts the model's own 256 cap; fp32 only)
  header=project|path|none   `# path :: symbol` line (product), the path alone (as the naive baseline), nothing
  no-context             drop the class header that the methods of a split class carry
  no-lead-comments       drop the doc-comment lines above a definition from the embedded text
  class=N                Chunker(large_class_lines=N): classes longer than N lines are split into methods
  no-module              drop "module" chunks (top-level code between definitions)
  naive-chunks[=lead]    the yardstick's regex chunks (`=lead`: each starts at the comment block above it)
  skip-data              skip JSON/YAML/lock/sum/csv files       code-only   index only definition-level code
Search-side tokens (reuse an index):
  dense | keyword        search mode (default hybrid)          w=F   dense weight of the linear fusion
  rrf[=K]                weighted reciprocal-rank fusion instead of the linear one
  no-overlap             turn off the overlap filter of HybridSearch._materialise
  sym=F                  hybrid: add F x (share of the definition name's words found in the query)
  prose=F                hybrid: subtract F from prose/data/config chunks (unless the query asks for docs)
  tests=F                hybrid: subtract F from chunks in test files (unless the query asks for tests)
The last four default to the product's IndexConfig (dense_weight, symbol_weight, prose_penalty, test_penalty);
`sym=0+prose=0+tests=0` is the ranking before issue 19.

How each ablation's index is built (variants, the vector cache, the naive chunks): `ablation_index.py`.

    .venv/bin/python tests/benchmarks/bench_search_ablation.py [--sets flask httpx gin] [--ablations A B ...]
        [--documented] [--target] [--json OUT] [--compare ABLATION] [--query TEXT] [--work .work/bench/ablation]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from ablation_index import CachedEmbedder, IndexVariant, build_index, set_maker, yardstick

from copilot_index.indexer.config import MINILM_EMBEDDER, IndexConfig
from copilot_index.indexer.search import CANDIDATES, HybridSearch
from copilot_index.indexer.store import ChunkStore

ROOT = Path(__file__).resolve().parents[2]
DEV_SETS = ["flask", "httpx", "gin"]
PRODUCT = IndexConfig()  # the product's ranking defaults: `default` means these
DATA_FILES = ("*.json", "*.yaml", "*.yml", "*.lock", "*.sum", "*.csv")
CODE_ONLY = ("*", "!*/", *(f"!*{e}" for e in (".py", ".go", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".rs", ".java",
                                             ".c", ".h", ".cc", ".cpp", ".hpp", ".rb", ".cs")))
DEFAULT_ABLATIONS = [
    "default", "dense", "keyword", "fp32", "fp32+dense", "seq=512+fp32+dense", "header=none+dense", "header=path+dense",
    "no-context+dense", "no-lead-comments+dense", "class=1+dense", "no-module+dense", "naive-chunks+fp32+dense",
    "naive-chunks=lead+fp32+dense", "skip-data", "code-only", "no-overlap", "rrf", "w=0.6", "w=0.8", "sym=0",
    "prose=0", "tests=0", "sym=0+prose=0+tests=0",
]


@dataclass(frozen=True)
class SearchVariant:
    mode: str = "hybrid"
    dense_weight: float = PRODUCT.dense_weight
    rrf: int = 0
    overlap_filter: bool = True
    sym: float = PRODUCT.symbol_weight
    prose: float = PRODUCT.prose_penalty
    tests: float = PRODUCT.test_penalty


_INDEX_TOKENS: dict[str, Any] = {
    "fp32": lambda v: {"backend": "torch"}, "int8": lambda v: {"backend": "onnx"},
    "minilm": lambda v: {"embedder": MINILM_EMBEDDER}, "embedder": lambda v: {"embedder": v},
    "no-context": lambda v: {"context": False}, "no-lead-comments": lambda v: {"lead_comments": False},
    "no-module": lambda v: {"module_chunks": False}, "skip-data": lambda v: {"skip": DATA_FILES},
    "code-only": lambda v: {"skip": CODE_ONLY}, "seq": lambda v: {"seq": int(v)},
    "header": lambda v: {"header": v}, "class": lambda v: {"large_class_lines": int(v)},
    "naive-chunks": lambda v: {"naive_chunks": v or "def", "header": "path", "context": False},
}
_SEARCH_TOKENS: dict[str, Any] = {
    "dense": lambda v: {"mode": "dense"}, "keyword": lambda v: {"mode": "keyword"},
    "no-overlap": lambda v: {"overlap_filter": False}, "w": lambda v: {"dense_weight": float(v)},
    "rrf": lambda v: {"rrf": int(v or 60)}, "sym": lambda v: {"sym": float(v or 0.2)},
    "prose": lambda v: {"prose": float(v or 0.2)}, "tests": lambda v: {"tests": float(v or 0.1)},
}


def parse_ablation(spec: str) -> tuple[IndexVariant, SearchVariant]:
    index, search = IndexVariant(), SearchVariant()
    for token in filter(None, spec.split("+")):
        key, _, value = token.partition("=")
        if key in _INDEX_TOKENS:
            index = replace(index, **_INDEX_TOKENS[key](value))
        elif key in _SEARCH_TOKENS:
            search = replace(search, **_SEARCH_TOKENS[key](value))
        elif token != "default":
            raise SystemExit(f"unknown ablation token {token!r}; the module docstring lists them.")
    return index, search


# -- search-side overrides ----------------------------------------------------------------------------------


class AblationSearch(HybridSearch):
    """The product's HybridSearch with the variant's weights; `rrf` and `no-overlap` are the bench's own."""

    def __init__(self, store: ChunkStore, embedder: CachedEmbedder, variant: SearchVariant) -> None:
        config = IndexConfig(dense_weight=variant.dense_weight, symbol_weight=variant.sym,
                             prose_penalty=variant.prose, test_penalty=variant.tests)
        super().__init__(store, embedder, config)  # type: ignore[arg-type]
        self.variant = variant

    def query(self, text: str, k: int = 10, mode: Any = None, language: Any = None, path_glob: Any = None) -> list:
        v, want = self.variant, max(k * 4, CANDIDATES)
        if v.mode != "hybrid" or (not v.rrf and v.overlap_filter):
            return super().query(text, k, v.mode)  # type: ignore[arg-type]
        if v.rrf:
            scores: dict[int, float] = {}
            for weight, ranking in ((v.dense_weight, self._dense(text, want, None)),
                                    (1 - v.dense_weight, self._keyword(text, want, None))):
                for rank, cid in enumerate(sorted(ranking, key=lambda i: -ranking[i]), 1):
                    scores[cid] = scores.get(cid, 0.0) + 2 * weight / (v.rrf + rank)
        else:
            scores = self._hybrid(text, want, None)
        ranked = sorted(self._rerank(text, scores).items(), key=lambda item: -item[1])
        if v.overlap_filter:
            return self._materialise(ranked, k)
        return [r for item in ranked[:k] for r in self._materialise([item], 1)]  # one at a time: nothing overlaps


# -- running ------------------------------------------------------------------------------------------------


def documented_queries(repo: Path, limit: int = 200) -> list[dict]:
    """Queries for the functions whose docs the set kept (its other half), found with make_retrieval_set's own
    extraction: each doc's first sentence should find its documented function. Guards against ranking that only
    pays off when the target's doc is gone (such as dropping doc comments from the embedded text)."""
    out = []
    for f in sorted(repo.rglob("*")):
        rel, lang = f.relative_to(repo).as_posix(), {".py": "python", ".go": "go", ".js": "javascript"}.get(f.suffix)
        if lang is None or not f.is_file() or ".git" in f.parts or any(
                p in rel for p in ("test", "docs/", "examples/", "example")):
            continue
        src = f.read_text(errors="replace")
        items = (set_maker.python_candidates(src) if lang == "python"
                 else set_maker.comment_candidates(src, "go" if lang == "go" else "js"))
        out += [{"query": it["query"], "path": rel, "line": it["line"], "name": it["name"], "lang": lang} for it in items]
    return out[:: max(1, len(out) // limit)][:limit]


def score_query(query: dict, results: list[dict], k: int = 10) -> dict:
    mrr, _, r10 = yardstick.score([query], [results], k)
    return {"lang": query["lang"], "rr": mrr, "hit10": r10,
            "top": [f"{r['path']}:{r['start_line']}-{r['end_line']}" for r in results[:5]]}


def repo_of(set_dir: Path) -> Path:
    """A retrieval set's `repo/`, or the folder itself when it is a plain repository (for --query)."""
    return set_dir / "repo" if (set_dir / "queries.jsonl").is_file() else set_dir


def naive_dense(set_dir: Path, queries: list[dict], embedder: CachedEmbedder) -> list[dict]:
    chunks = yardstick.chunks(repo_of(set_dir))
    vectors = embedder.embed([c["text"] for c in chunks])
    return [score_query(q, [chunks[i] for i in np.argsort(-(vectors @ embedder.embed_query(q["query"])))[:10]])
            for q in queries]


def run(args: argparse.Namespace) -> dict[str, dict[str, list[dict]]]:
    """ablation -> set -> per-query {"lang", "rr", "hit10", "top"}; the first row is the naive dense baseline."""
    work = Path(args.work).resolve()
    embedders: dict[tuple[str, int], CachedEmbedder] = {}
    rows: dict[str, dict[str, list[dict]]] = {"naive dense (yardstick)": {}, **{a: {} for a in args.ablations}}
    for set_dir in [Path(s) if "/" in s else ROOT / ".work/bench/retrieval" / s for s in args.sets]:
        if args.query:
            queries = [{"query": args.query, "path": "", "line": 0, "lang": "-"}]
        elif args.documented:
            queries = documented_queries(repo_of(set_dir))
        else:
            queries = [json.loads(line) for line in (set_dir / "queries.jsonl").read_text().splitlines() if line.strip()]
        for name in rows:
            # The yardstick's naive dense is all-MiniLM-L6-v2 whatever the product's default embedder is.
            iv, sv = parse_ablation("fp32+minilm" if name.startswith("naive dense") else name)
            if (iv.embedder, iv.backend, iv.seq) not in embedders:
                embedders[(iv.embedder, iv.backend, iv.seq)] = CachedEmbedder(iv.embedder, iv.backend, iv.seq,
                                                                              work / "vectors")
            embedder = embedders[(iv.embedder, iv.backend, iv.seq)]
            if name.startswith("naive dense"):  # not over a plain folder: the yardstick reads every file under it
                if repo_of(set_dir) != set_dir:
                    rows[name][set_dir.name] = naive_dense(set_dir, queries, embedder)
                continue
            store = build_index(set_dir.name, repo_of(set_dir), iv, embedder, work)
            search = AblationSearch(store, embedder, sv)
            rows[name][set_dir.name] = [score_query(q, [r.as_json() for r in search.query(q["query"], k=10)])
                                        for q in queries]
            store.close()
            print(f"  {set_dir.name:10s} {name:40s} done", file=sys.stderr, flush=True)
    return rows


def print_table(rows: dict[str, dict[str, list[dict]]]) -> dict:
    naive = next(iter(rows.values()))
    langs = sorted({i["lang"] for items in naive.values() for i in items})
    cols = [*naive, "pooled", *langs]

    def cell(items: list[dict]) -> tuple[float, float, int]:
        n = len(items)
        return (sum(i["rr"] for i in items) / n, sum(i["hit10"] for i in items) / n, n) if n else (0.0, 0.0, 0)

    table = {}
    for name, per_set in rows.items():
        pooled = [i for items in per_set.values() for i in items]
        table[name] = {**{s: cell(per_set[s]) for s in naive}, "pooled": cell(pooled),
                       **{lang: cell([i for i in pooled if i["lang"] == lang]) for lang in langs}}
    base = next(iter(table.values()))
    print("MRR@10/R@10 per column; ratio = pooled MRR@10 / naive dense pooled MRR@10; beats = sets above naive")
    print(f"{'ablation':44s}" + "".join(f"{c[:10] + ' n=' + str(base[c][2]):>16s}" for c in cols) + "  ratio beats")
    for name, cells in table.items():
        beats = sum(cells[s][0] > base[s][0] for s in naive)
        print(f"{name:44s}" + "".join(f"{cells[c][0]:>10.3f}/{cells[c][1]:.3f}" for c in cols)
              + f"  {cells['pooled'][0] / (base['pooled'][0] or 1):.3f} {beats}/{len(naive)}")
    return {name: {c: dict(zip(("mrr@10", "r@10", "n"), v, strict=True)) for c, v in cells.items()}
            for name, cells in table.items()}


def target_check(table: dict, name: str = "default", ratio: float = 1.2) -> bool:
    """Issue 19's target: `name` (the product's default hybrid search) above naive dense in every set and
    language, and pooled MRR@10 at least `ratio` times naive dense's. Prints one line each; True when met."""
    base, mine = next(iter(table.values())), table[name]
    ok = True
    for column, cells in mine.items():
        if column == "pooled":
            continue
        beats = cells["mrr@10"] > base[column]["mrr@10"]
        ok &= beats
        print(f"target  {column:10s} n={cells['n']:<4d} {name} {cells['mrr@10']:.3f}  naive dense "
              f"{base[column]['mrr@10']:.3f}  {'beats' if beats else 'DOES NOT BEAT'}")
    pooled = mine["pooled"]["mrr@10"] / (base["pooled"]["mrr@10"] or 1)
    ok &= pooled >= ratio
    print(f"target  pooled     n={mine['pooled']['n']:<4d} {name} {mine['pooled']['mrr@10']:.3f}  naive dense "
          f"{base['pooled']['mrr@10']:.3f}  ratio {pooled:.3f} (target {ratio}): {'MET' if ok else 'NOT MET'}")
    return ok


def compare(rows: dict[str, dict[str, list[dict]]], name: str) -> None:
    """Queries the naive dense baseline ranks better than ablation `name`, with both top-5 lists."""
    for set_name, items in next(iter(rows.values())).items():
        for naive, mine in zip(items, rows[name][set_name], strict=True):
            if naive["rr"] > mine["rr"]:
                print(f"[{set_name}] naive rr={naive['rr']:.2f} {name} rr={mine['rr']:.2f}\n"
                      f"   naive: {naive['top']}\n   {name}: {mine['top']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=DEV_SETS, help="set names under .work/bench/retrieval, or paths")
    parser.add_argument("--ablations", nargs="+", help=f"default: {' '.join(DEFAULT_ABLATIONS)}; with --target: default")
    parser.add_argument("--target", action="store_true",
                        help="print the issue's target check: default hybrid against naive dense per set, pooled ratio")
    parser.add_argument("--documented", action="store_true",
                        help="query the functions whose docs the set kept (each should find its documented function)")
    parser.add_argument("--work", default=str(ROOT / ".work/bench/ablation"), help="indexes and vector cache")
    parser.add_argument("--json", help="also write the table and every query's result here")
    parser.add_argument("--compare", help="list the queries the naive baseline ranks better than this ablation")
    parser.add_argument("--query", help="print the top results for one query instead of scoring (sets may be repos)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    args = parser.parse_args()
    args.ablations = args.ablations or (["default"] if args.target else DEFAULT_ABLATIONS)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    rows = run(args)
    if args.query:
        for name, per_set in rows.items():
            for set_name, items in per_set.items():
                print(f"{name:44s} {set_name}: {items[0]['top']}")
        return
    table = print_table(rows)
    if args.target and "default" in table:
        target_check(table)
    if args.compare:
        compare(rows, args.compare)
    if args.json:
        Path(args.json).write_text(json.dumps({"table": table, "queries": rows}, indent=1))


if __name__ == "__main__":
    main()

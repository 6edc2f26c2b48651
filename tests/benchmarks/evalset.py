"""Build a code-search evaluation set from a real repository that is not this project.

The source is a set of CPython standard-library modules (every Python installation has
them), copied into a fresh git repository. Documented functions are split in two halves
by a seeded hash: in the "query" half the docstring is removed from the indexed copy and
its first sentence becomes the query whose answer is that function; the other half keeps
its docstrings (training signal for embedding fine-tuning). Nothing is hard-coded: the
set is rebuilt from whatever stdlib this interpreter carries.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path

from copilot_index.conventions.embeddings.corpus import STDLIB_BENCHMARK_FILES

DEFAULT_MODULES = list(STDLIB_BENCHMARK_FILES)
"""The stdlib modules of the set; the code-search embedder's corpus leaves exactly these out (one list)."""


@dataclass(frozen=True)
class EvalQuery:
    query: str
    path: str
    symbol: str
    def_line: int
    end_line: int


def _first_sentence(doc: str) -> str | None:
    text = doc.strip().split("\n\n", 1)[0]
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].strip()
    words = sentence.split()
    if len(words) < 4 or len(sentence) > 300:
        return None
    return sentence


def _in_query_half(key: str, seed: int) -> bool:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest(), 16) % 2 == 0


def _functions(tree: ast.AST) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((prefix + child.name, child))

    visit(tree, "")
    return found


def strip_file(source: str, rel: str, seed: int) -> tuple[str, list[tuple[str, str]]]:
    """Remove the query half's docstrings; return the new source and [(qualified name, sentence)]."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    removals: list[tuple[int, int, str]] = []
    chosen: list[tuple[str, str]] = []
    for name, fn in _functions(tree):
        doc = ast.get_docstring(fn, clean=True)
        if not doc or not _in_query_half(f"{rel}:{name}", seed):
            continue
        sentence = _first_sentence(doc)
        if sentence is None:
            continue
        node = fn.body[0]
        indent = " " * node.col_offset
        replacement = f"{indent}pass\n" if len(fn.body) == 1 else ""
        removals.append((node.lineno, node.end_lineno or node.lineno, replacement))
        chosen.append((name, sentence))
    for first, last, replacement in sorted(removals, reverse=True):
        lines[first - 1 : last] = [replacement] if replacement else []
    return "".join(lines), chosen


def build(out_dir: Path, modules: list[str] | None = None, seed: int = 0, max_queries: int = 400) -> list[EvalQuery]:
    """Write the stripped repository to `out_dir/repo` (a git repo) and return the queries."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    repo = out_dir / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    queries: list[EvalQuery] = []
    for rel in modules or DEFAULT_MODULES:
        src = stdlib / rel
        if not src.is_file():
            continue
        source = src.read_text(encoding="utf-8", errors="replace")
        stripped, chosen = strip_file(source, rel, seed)
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(stripped, encoding="utf-8")
        by_name = dict(_functions(ast.parse(stripped)))
        for name, sentence in chosen:
            fn = by_name.get(name)
            if fn is not None:
                first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
                queries.append(EvalQuery(sentence, rel, name, first, fn.end_lineno or fn.lineno))
    git = ["git", "-c", "user.email=bench@localhost", "-c", "user.name=bench"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stdlib snapshot"], cwd=repo, check=True)
    queries.sort(key=lambda q: hashlib.sha256(f"{seed}:{q.path}:{q.symbol}".encode()).hexdigest())
    queries = queries[:max_queries]
    (out_dir / "queries.jsonl").write_text("\n".join(json.dumps(asdict(q)) for q in queries) + "\n")
    return queries


def is_hit(result: dict[str, object] | object, q: EvalQuery) -> bool:
    """A result answers the query when it is the query's file and covers the function's def line."""
    get = result.get if isinstance(result, dict) else lambda key: getattr(result, key)
    return bool(get("path") == q.path and int(get("start_line")) <= q.def_line + 1 and int(get("end_line")) >= q.def_line)


def score(ranked: list[list[object]], queries: list[EvalQuery], k: int = 10) -> dict[str, float]:
    """MRR@k and Recall@k of ranked result lists (one per query)."""
    rr, hits = 0.0, 0
    for results, q in zip(ranked, queries, strict=True):
        for rank, result in enumerate(results[:k], 1):
            if is_hit(result, q):
                rr += 1.0 / rank
                hits += 1
                break
    n = max(1, len(queries))
    return {f"mrr@{k}": rr / n, f"recall@{k}": hits / n, "queries": float(len(queries))}

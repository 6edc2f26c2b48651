"""Mine the code-search embedder's training corpus: (query, code) pairs from licence-checked source trees.

    python -m copilot_index.conventions.embeddings.corpus --corpus-dir .work/corpus [--fetch]

Each tree (`corpus_sources.py`) is mined with the product's own `PairMiner` (doc sentence -> definition
without its doc, identifier words -> body, test name -> the function it exercises), so the code side is
exactly the text the indexer embeds for a chunk. Then:

- projects the team evaluates on are excluded by name, in package names and in every path component
  (vendored copies included): see `EXCLUDED_PROJECTS`;
- pairs from test files are dropped (a test's doc describes the test, not the code searched for);
- pairs are de-duplicated across all trees, and capped per unit and kind, so no big project dominates;
- whole units (packages; for a standard library, its top-level modules) are held out, per language.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from copilot_index.indexer import IndexConfig, RepoInfo, has_definitions, language_for_path

from .corpus_sources import (
    SourceTree,
    cpython_stdlib,
    discover,
    fetch_debian,
    fetch_npm,
    fetch_pypi,
    licence_excludes,
)
from .doctext import without_own_name
from .pairs import MiningOptions, Pair, PairMiner, dedupe, is_test_path

log = logging.getLogger(__name__)

EXCLUDED_PROJECTS = ("click", "requests", "cobra", "express", "flask", "httpx", "gin", "koa", "commander",
                     "werkzeug", "marshmallow", "sqlfluff", "httpcore")
"""Projects the team evaluates search and completion on (httpcore: httpx's own transport, same authors).
A package name or path component with one of these as a word ("gin-gonic", "_click", "requests.go") is out."""

EXCLUDED_DIRS = ("_vendor/", "_vendored/", "extern/", "_extern/", "externals/", "testdata/", "test_data/",
                 "fixtures/", "__snapshots__/", "locale/", "locales/", "i18n/")
"""Folders never mined besides the indexer's vendored patterns: vendored copies, test data, translations."""

STDLIB_BENCHMARK_FILES = (
    "argparse.py", "configparser.py", "csv.py", "difflib.py", "shutil.py", "tarfile.py", "zipfile/__init__.py",
    "textwrap.py", "string.py", "fractions.py", "statistics.py", "calendar.py", "gettext.py", "ftplib.py",
    "smtplib.py", "imaplib.py", "http/client.py", "http/cookies.py", "http/server.py", "urllib/parse.py",
    "urllib/request.py", "json/decoder.py", "json/encoder.py", "logging/__init__.py", "logging/handlers.py",
    "email/message.py", "email/utils.py", "email/_header_value_parser.py", "pathlib.py", "tempfile.py",
    "subprocess.py", "threading.py", "queue.py", "sched.py", "heapq.py", "bisect.py", "random.py",
    "datetime.py", "ipaddress.py", "uuid.py", "base64.py", "quopri.py", "mailbox.py", "pprint.py",
    "inspect.py", "dis.py", "ast.py", "tokenize.py", "traceback.py", "pdb.py", "cmd.py", "shlex.py",
    "glob.py", "fnmatch.py", "filecmp.py", "netrc.py", "plistlib.py", "wave.py", "selectors.py",
)
"""The stdlib files of the README's search benchmarks (`tests/benchmarks/evalset.py` reads this list): never trained on."""

PYPI = (
    "anyio==4.16.0", "arrow==1.4.0", "attrs==26.1.0", "boltons==26.2.0", "cachetools==8.0.2", "h11==0.16.0",
    "humanize==4.17.0", "jsonschema==4.26.0", "markdown==3.11.3", "more-itertools==11.2.1", "networkx==3.6.1",
    "packaging==26.4", "pluggy==1.7.0", "pygments==2.21.0", "pyparsing==3.3.3", "python-dateutil==4.0.0",
    "rich==15.0.0", "sortedcontainers==2.4.0", "sympy==1.14.0", "tenacity==9.2.1", "toolz==1.2.0",
    "tornado==6.6.1", "trio==0.35.0",
)
"""Permissively licensed wheels (pip itself is left out: it vendors requests, an evaluated project)."""
NPM = (
    "acorn@8.19.0", "async@3.2.6", "bluebird@3.7.2", "chai@6.3.0", "cheerio@1.2.0", "d3-array@3.2.5",
    "dayjs@1.11.23", "debug@4.4.3", "esprima@4.0.1", "handlebars@4.7.10", "immutable@5.2.1", "lodash@4.18.1",
    "luxon@3.7.2", "marked@18.2.1", "minimatch@11.0.10", "moment@2.31.0", "node-forge@1.4.4", "qs@6.17.1",
    "ramda@0.32.0", "semver@7.8.6", "underscore@1.13.8", "uuid@14.0.3", "validator@13.15.35", "ws@8.23.1",
    "eslint@10.15.0", "webpack@5.113.0", "mocha@12.0.3", "sinon@22.1.0", "axios@1.21.1", "date-fns@4.4.0",
    "socket.io@4.8.4", "ajv@8.20.0", "mathjs@15.2.0",
)
_GO = ("pkg-errors google-go-cmp sirupsen-logrus gorilla-mux stretchr-testify google-uuid burntsushi-toml urfave-cli "
       "go-chi-chi fatih-color dustin-go-humanize cenkalti-backoff mitchellh-mapstructure gobwas-glob jmoiron-sqlx "
       "lib-pq labstack-echo miekg-dns gorilla-websocket pelletier-go-toml rs-zerolog").split()
DEBIAN = tuple([f"golang-github-{name}-dev" for name in _GO]
               + ["golang-golang-x-text-dev", "golang-golang-x-net-dev", "golang-1.19-src"])
"""Debian bookworm packages carrying Go sources (the Go standard library in golang-1.19-src)."""


@dataclass(frozen=True)
class CorpusPair:
    """A mined pair with where it came from."""

    query: str
    positive: str
    source: str
    """"doc", "name" or "test" (pairs.SOURCES)."""
    language: str
    tree: str
    unit: str
    """The held-out split's unit: the tree, or one top-level module of it."""
    path: str


@dataclass
class CorpusOptions:
    caps: dict[str, int] = field(default_factory=lambda: {"doc": 1500, "name": 500, "test": 300})
    """Most pairs of each kind kept per unit."""
    held_out_share: float = 0.1
    """Share of each language's pairs, in whole units, held out for evaluation."""
    seed: int = 1234


def excluded_name(text: str) -> str | None:
    """The evaluated project a package name or path names as a word, or None."""
    words = set(re.split(r"[^a-z0-9]+", text.lower()))
    return next((name for name in EXCLUDED_PROJECTS if name in words), None)


def unit_of(tree: SourceTree, path: str) -> str:
    """The held-out unit of a file: the tree, or its top-level folder or module (extension dropped)."""
    if tree.unit_depth == 0:
        return tree.name
    first = path.split("/", 1)[0]
    return f"{tree.name}/{first if '/' in path else first.rsplit('.', 1)[0]}"


def tree_config(tree: SourceTree) -> IndexConfig:
    """The indexer's settings for reading `tree` as a corpus: its vendored patterns (less `dist/` and `build/` for
    packages that ship only built code), `EXCLUDED_DIRS`, the tree's own exclusions and the evaluated projects."""
    vendored = [p for p in IndexConfig().vendored if not (tree.include_built and p in ("dist/", "build/"))]
    vendored += [*EXCLUDED_DIRS, *tree.exclude]
    vendored += [f"{lead}{name}{tail}" for name in EXCLUDED_PROJECTS for lead in ("", "_") for tail in ("/", ".*")]
    return IndexConfig(vendored=vendored)


def mine_tree(tree: SourceTree, options: MiningOptions | None = None) -> list[CorpusPair]:
    """Every usable pair of one tree (before de-duplication and caps)."""
    if excluded_name(tree.package):
        return []
    mined = PairMiner(RepoInfo(tree.root.resolve(), None), tree_config(tree), options).mine()
    kept: list[CorpusPair] = []
    for pair in mined:
        language = language_for_path(pair.path)
        if language is None or not has_definitions(language) or is_test_path(pair.path):
            continue
        if excluded_name(pair.path) or licence_excludes(tree, pair.path):
            continue
        kept.append(CorpusPair(pair.query, pair.positive, pair.source, language, tree.name, unit_of(tree, pair.path),
                               pair.path))
    log.info("%s: %d pairs (%d mined)", tree.name, len(kept), len(mined))
    return kept


def assemble(pairs: list[CorpusPair], options: CorpusOptions) -> tuple[list[CorpusPair], list[CorpusPair]]:
    """(train, held-out): de-duplicated, capped per unit and kind, whole units held out per language."""
    pairs = [p if p.source != "doc" else replace(p, query=behaviour_query(p.query, p.positive)) for p in pairs]
    pairs = [p for p in pairs if len(p.query.split()) >= 3]
    as_pairs = [Pair(p.query, p.positive, f"{p.unit}:{p.path}", p.source) for p in pairs]
    origin = {id(a): p for a, p in zip(as_pairs, pairs, strict=True)}
    unique = [origin[id(a)] for a in dedupe(as_pairs)]
    by_unit_kind: dict[tuple[str, str], list[CorpusPair]] = defaultdict(list)
    for pair in unique:
        by_unit_kind[(pair.unit, pair.source)].append(pair)
    capped: list[CorpusPair] = []
    for (_, kind), group in sorted(by_unit_kind.items()):
        group.sort(key=lambda p: _rank(f"{options.seed}:{p.query}:{p.path}"))
        capped += group[: options.caps.get(kind, 0)]
    held_units = held_out_units(capped, options.held_out_share, options.seed)
    train = [p for p in capped if p.unit not in held_units]
    trained_queries = {_norm(p.query) for p in train}
    held = [p for p in capped if p.unit in held_units and _norm(p.query) not in trained_queries]
    return train, held


def behaviour_query(query: str, positive: str) -> str:
    """`doctext.without_own_name` for a corpus pair, whose symbol is in its code text's `# path :: symbol` header.

    Mining already drops the name; this also covers pairs cached under `mined/` before it did.
    """
    header = positive.split("\n", 1)[0]
    symbol = header.rsplit(" :: ", 1)[1] if header.startswith("# ") and " :: " in header else ""
    return without_own_name(query, symbol)


def held_out_units(pairs: Iterable[CorpusPair], share: float, seed: int) -> set[str]:
    """Whole units, chosen by a seeded hash, holding about `share` of each language's pairs (never all units)."""
    sizes: Counter[str] = Counter()
    languages: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in pairs:
        sizes[pair.unit] += 1
        languages[pair.unit][pair.language] += 1
    by_language: dict[str, list[str]] = defaultdict(list)
    for unit, counts in languages.items():
        by_language[counts.most_common(1)[0][0]].append(unit)
    held: set[str] = set()
    for units in by_language.values():
        if len(units) < 2:
            continue
        total = sum(sizes[u] for u in units)
        taken = 0
        chosen: list[str] = []
        for unit in sorted(units, key=lambda u: _rank(f"{seed}:{u}")):
            if taken >= share * total or len(chosen) == len(units) - 1:
                break
            if taken + sizes[unit] > 2 * share * total:
                continue  # a unit that would hold out far too much of the language
            chosen.append(unit)
            taken += sizes[unit]
        held.update(chosen or [min(units, key=lambda u: (sizes[u], u))])
    return held


def _rank(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def _norm(query: str) -> str:
    return " ".join(query.lower().split())


def counts(pairs: Iterable[CorpusPair]) -> dict[str, dict[str, int]]:
    """Pairs per language and kind."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in pairs:
        table[pair.language][pair.source] += 1
    return {language: dict(sorted(kinds.items())) for language, kinds in sorted(table.items())}


def write_jsonl(path: Path, pairs: Iterable[CorpusPair]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[CorpusPair]:
    with path.open(encoding="utf-8") as lines:
        return [CorpusPair(**json.loads(line)) for line in lines if line.strip()]


def build(corpus_dir: Path, options: CorpusOptions | None = None) -> dict[str, object]:
    """Mine every tree (reusing `mined/<tree>.jsonl` from an earlier run), assemble, write `pairs/`."""
    options = options or CorpusOptions()
    found = discover(corpus_dir)
    trees = [cpython_stdlib(STDLIB_BENCHMARK_FILES), *found.trees]
    rejected = dict(found.rejected)
    everything: list[CorpusPair] = []
    records = []
    for tree in trees:
        if excluded_name(tree.package):
            rejected[tree.name] = f"excluded by name ({excluded_name(tree.package)})"
            continue
        cache = corpus_dir / "mined" / (tree.name.replace(":", "_").replace("/", "_") + ".jsonl")
        if not cache.is_file():
            write_jsonl(cache, mine_tree(tree))
        mined = read_jsonl(cache)
        everything += mined
        records.append({"tree": tree.name, "version": tree.version, "licence": tree.licence,
                        "licence_record": tree.licence_record, "mined": len(mined)})
    train, held = assemble(everything, options)
    kept = Counter(p.tree for p in train + held)
    for record in records:
        record["kept"] = kept.get(str(record["tree"]), 0)
    write_jsonl(corpus_dir / "pairs" / "train.jsonl", train)
    write_jsonl(corpus_dir / "pairs" / "held_out.jsonl", held)
    summary: dict[str, object] = {
        "trees": records, "rejected": rejected, "excluded_projects": list(EXCLUDED_PROJECTS),
        "excluded_dirs": list(EXCLUDED_DIRS), "stdlib_benchmark_files": list(STDLIB_BENCHMARK_FILES),
        "options": asdict(options), "train": counts(train), "held_out": counts(held),
        "held_out_units": sorted({p.unit for p in held}),
        "pip_in_corpus": any(record["tree"] == "pypi:pip" for record in records),
    }
    (corpus_dir / "pairs" / "corpus.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus-dir", type=Path, default=Path(".work/corpus"))
    parser.add_argument("--fetch", action="store_true", help="download the PyPI, npm and Debian packages first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.fetch:
        fetch_pypi(list(PYPI), args.corpus_dir)
        fetch_npm(list(NPM), args.corpus_dir)
        fetch_debian(list(DEBIAN), args.corpus_dir)
    summary = build(args.corpus_dir)
    log.info("train %s; held out %s", summary["train"], summary["held_out"])


if __name__ == "__main__":
    main()

"""The doc probe: the fusion weight a trained embedder searches with, chosen on the repository itself.

Hybrid search adds `dense_weight` x cosine to (1 - `dense_weight`) x keyword score. A trained embedder ranks
the repository's code better than the one it started from, so it usually deserves a larger share, but not
on every repository (docs/search-quality.md, "The fusion weight after training"). The repository's own pairs
scored by the embedder alone cannot tell which; the probe asks the real search instead:

1. the callable definitions with a doc in the held-out files (never trained on) are the targets; when they
   are fewer than `ProbeOptions.top_up_to`, documented functions of training files make up the difference
   (`reserve_targets`, at most a tenth of the training doc pairs): their doc pairs are withheld from training,
   while their code, name and test pairs stay, as with the yardstick's queried functions;
2. a redacted copy of the scanned working tree, with the targets' docs cut out, is indexed with the trained
   embedder in a temporary folder (the whole tree, up to `ProbeOptions.max_files` files);
3. each target's first doc sentence (without the definition's own name in front, as the yardstick's queries
   and `train-embeddings`' doc pairs have it) is searched for at every candidate weight, and MRR@10 is taken
   over the targets (right answer: the result with the target's path and symbol).

The chosen weight is the highest one whose score is within `ProbeOptions.tie` of the best: 30-odd docs cannot
tell weights that close apart, and a trained embedder searched with more dense weight did as well or better on
the development sets' own queries (tests/benchmarks/probe_policies.py). With fewer than
`ProbeOptions.min_queries` targets the configured weight stays. `train-embeddings` records the choice with the
promoted embedder (`active.json`); a weight set in the settings still wins. Cutting the doc out is what the
yardstick's retrieval sets do too (../shared/bench): a user's description should find code that nobody
documented. Measured: tests/benchmarks/bench_fusion_after_training.py probe (the probe against the queries)
and tests/benchmarks/probe_policies.py (ways of choosing, replayed on nine retrieval sets).
"""

from __future__ import annotations

import ast
import logging
import random
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from copilot_index.indexer import (
    Chunk,
    Chunker,
    DataDir,
    Index,
    IndexConfig,
    Redactor,
    RepoInfo,
    Scanner,
    read_source,
)

from .doctext import python_definition, sentence_of, split_doc, without_own_name
from .pairs import Pair, is_test_path

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_CALLABLE_KINDS = frozenset({"function", "method"})


@dataclass(frozen=True)
class Target:
    path: str
    symbol: str
    query: str
    doc_lines: tuple[int, ...]
    """1-based lines of the file that hold the definition's doc (cut out of the copy)."""


@dataclass
class ProbeOptions:
    weights: Sequence[float] = WEIGHTS
    max_queries: int = 200
    min_queries: int = 20
    """Fewer targets than this say too little to move the weight."""
    tie: float = 0.02
    """Probe MRR@10 within which weights count as alike; the highest of them is chosen. Until 6 December the best
    weight was chosen only if it beat the configured one by 0.01 (README, "Other options")."""
    max_files: int = 1500
    """Files of the copy at most: the held-out ones first, then a seeded sample of the rest."""
    top_up_to: int = 30
    """When the held-out files hold fewer targets than this, documented functions of the training files make up
    the difference (`reserve_targets`): their doc pairs leave training, their other pairs stay."""
    max_reserved_share: float = 0.1
    """The most of the training side's doc pairs the probe may take; none if it would still fall short of
    `min_queries`."""
    seed: int = 0


@dataclass
class ProbeResult:
    queries: int
    mrr: dict[float, float] = field(default_factory=dict)
    """MRR@10 of the probe queries at each candidate weight."""
    configured: float = 0.7
    chosen: float = 0.7
    reserved: int = 0
    """Queries that are documented functions of training files (`reserve_targets`), not of held-out files."""

    def as_json(self) -> dict[str, object]:
        return {"queries": self.queries, "reserved_from_training": self.reserved,
                "configured_weight": self.configured, "chosen_weight": self.chosen,
                "mrr@10": {str(w): round(m, 4) for w, m in sorted(self.mrr.items())}}


def doc_lines(chunk: Chunk) -> tuple[int, ...] | None:
    """The file lines of a definition chunk's doc (a docstring, or the doc comment above it), or None."""
    if chunk.language == "python":
        node = python_definition(chunk.text)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or ast.get_docstring(node) is None:
            return None
        if len(node.body) < 2:
            return None  # nothing but the doc: cutting it would leave no code
        first = node.body[0]
        return tuple(range(chunk.start_line + first.lineno - 1, chunk.start_line + (first.end_lineno or first.lineno)))
    split = split_doc(chunk)
    if split is None:
        return None
    count = len(chunk.text.splitlines()) - len(split[1].split("\n"))  # the lines before the code (`_comment_doc`)
    return tuple(range(chunk.start_line, chunk.start_line + count)) if count > 0 else None


def find_targets(chunks: Iterable[Chunk], held_out: set[str], limit: int, seed: int = 0,
                 reserved: frozenset[tuple[str, str, str]] = frozenset()) -> list[Target]:
    """Documented functions and methods of the held-out files (tests left out), and the `reserved` ones of
    other files (path, symbol, query: `reserve_targets`), at most `limit`, seeded."""
    found: list[Target] = []
    for chunk in chunks:
        if chunk.kind not in _CALLABLE_KINDS or not chunk.symbol or is_test_path(chunk.path):
            continue
        split = split_doc(chunk)
        lines = doc_lines(chunk)
        sentence = sentence_of(split[0]) if split is not None else None
        if not (sentence and lines):
            continue
        target = Target(chunk.path, chunk.symbol, without_own_name(sentence, chunk.symbol), lines)
        if chunk.path in held_out or (target.path, target.symbol, target.query) in reserved:
            found.append(target)
    random.Random(seed).shuffle(found)
    return found[:limit]


def reserve_targets(repo: RepoInfo, config: IndexConfig, train: Sequence[Pair], held_out: set[str],
                    options: ProbeOptions, progress: ProgressCallback | None = None) -> list[Target]:
    """Documented functions of training files that the probe takes over when the held-out files hold too few
    (`ProbeOptions.top_up_to`); the caller drops their doc pairs from training. Their code, names and tests stay
    on the training side, as the retrieval sets' queried functions do: only the doc-to-code pair is withheld."""
    progress = progress or (lambda description, done, total: None)
    held = len(find_targets(_redacted_chunks(repo, config, sorted(held_out)), held_out, options.max_queries))
    need = options.top_up_to - held
    docs = {(p.path, p.query) for p in train if p.source == "doc" and not is_test_path(p.path)}
    cap = int(options.max_reserved_share * sum(1 for p in train if p.source == "doc"))
    if need <= 0 or held + min(need, cap, len(docs)) < options.min_queries:
        return []
    files = sorted({path for path, _ in docs})
    chunks = _redacted_chunks(repo, config, files, lambda done: progress("Choosing the doc probe's functions",
                                                                           done, len(files)))
    candidates = [t for t in find_targets(chunks, set(files), len(docs) + 1, options.seed) if (t.path, t.query) in docs]
    taken = candidates[: min(need, cap)]
    return taken if held + len(taken) >= options.min_queries else []


def withhold(train: Sequence[Pair], reserved: Iterable[Target]) -> list[Pair]:
    """The training pairs without the reserved targets' docs: their doc pairs, and any other pair of the same
    file whose code still carries the doc sentence (a commit's chunk is read from a version of the file in which
    the doc stood). Docs of fewer than four words are matched by their doc pair only."""
    by_path: dict[str, list[Target]] = {}
    for target in reserved:
        by_path.setdefault(target.path, []).append(target)
    kept: list[Pair] = []
    for pair in train:
        targets = by_path.get(pair.path, [])
        if pair.source == "doc" and any(pair.query == t.query for t in targets):
            continue
        code = f" {_words(pair.positive)} "
        if any(len(words) >= 4 and f" {' '.join(words)} " in code for words in (_words(t.query).split()[:10]
                                                                               for t in targets)):
            continue
        kept.append(pair)
    return kept


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _redacted_chunks(repo: RepoInfo, config: IndexConfig, paths: Iterable[str],
                     done: Callable[[int], None] | None = None) -> list[Chunk]:
    redactor = Redactor()
    chunker = Chunker(window_lines=config.window_lines, window_overlap=config.window_overlap)
    chunks: list[Chunk] = []
    for count, path in enumerate(paths, 1):
        text = _redacted_text(repo, config, redactor, path)
        if text is not None:
            chunks += chunker.chunk(path, text)
        if done is not None:
            done(count)
    return chunks


def _redacted_text(repo: RepoInfo, config: IndexConfig, redactor: Redactor, path: str) -> str | None:
    """The file as the index would store it, or None when the scanner would skip it."""
    try:
        read = read_source(repo.root / path, config)
    except OSError:
        return None
    return None if isinstance(read, str) else redactor.redact(read[1], path).text


def choose_weight(mrr: dict[float, float], configured: float, queries: int, options: ProbeOptions) -> float:
    """The highest weight scoring within `options.tie` of the best, or `configured` when the probe is too small."""
    if queries < options.min_queries or not mrr:
        return configured
    best = max(mrr.values())
    return max(weight for weight, score in mrr.items() if score >= best - options.tie)


class DocProbe:
    """Builds the probe's copy of one repository and scores embedders on it."""

    def __init__(self, repo: RepoInfo, config: IndexConfig, held_out: set[str], options: ProbeOptions | None = None,
                 progress: ProgressCallback | None = None, reserved: Iterable[Target] = ()) -> None:
        self.repo = repo
        self.config = config
        self.held_out = held_out
        self.reserved = frozenset((t.path, t.symbol, t.query) for t in reserved)
        self.options = options or ProbeOptions()
        self.progress = progress or (lambda description, done, total: None)

    def run(self, embedder_id: str) -> ProbeResult:
        """Index the copy with `embedder_id` in a temporary folder and score every candidate weight."""
        with tempfile.TemporaryDirectory(prefix="copilot-index-probe-") as tmp:
            root = Path(tmp) / "repo"
            targets = self._write_copy(root)
            result = ProbeResult(queries=len(targets), configured=self.config.dense_weight,
                                 reserved=sum(1 for t in targets if t.path not in self.held_out))
            if not targets:
                result.chosen = result.configured
                return result
            config = replace(self.config, embedder=embedder_id, warnings=[])
            # A plain folder, never looked up: a temporary folder inside some git work tree must not index that tree.
            index = Index(RepoInfo(root.resolve(), None), DataDir(Path(tmp) / "data"), config)
            try:
                index.update(progress=self.progress)
                search = index.searcher()
                for weight in self.options.weights:
                    search.dense_weight = weight
                    result.mrr[weight] = _mrr(index, targets)
            finally:
                index.close()
        result.chosen = choose_weight(result.mrr, result.configured, result.queries, self.options)
        log.info("doc probe (%d queries): %s; weight %.2f", result.queries,
                 ", ".join(f"{w:.2f}: {m:.3f}" for w, m in sorted(result.mrr.items())), result.chosen)
        return result

    def _write_copy(self, root: Path) -> list[Target]:
        """Write the redacted copy with the targets' docs cut out; the targets."""
        files = [entry.path for entry in Scanner(self.repo, self.config).scan().files]
        probed = self.held_out | {path for path, _, _ in self.reserved}
        rest = [p for p in files if p not in probed]
        random.Random(self.options.seed).shuffle(rest)
        chosen = [p for p in files if p in probed] + rest
        chosen = chosen[: self.options.max_files]
        redactor = Redactor()
        chunker = Chunker(window_lines=self.config.window_lines, window_overlap=self.config.window_overlap)
        texts: dict[str, str] = {}
        chunks: list[Chunk] = []
        for done, path in enumerate(chosen, 1):
            self.progress("Preparing the doc probe", done, len(chosen))
            text = _redacted_text(self.repo, self.config, redactor, path)
            if text is None:
                continue  # unreadable, or skipped for a reason (binary, too large, ...)
            texts[path] = text
            if path in probed:
                chunks += chunker.chunk(path, text)
        targets = find_targets(chunks, self.held_out, self.options.max_queries, self.options.seed, self.reserved)
        cut: dict[str, set[int]] = {}
        for target in targets:
            cut.setdefault(target.path, set()).update(target.doc_lines)
        for path, text in texts.items():
            lines = text.splitlines(keepends=True)
            drop = cut.get(path, set())
            out = root / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text("".join(line for n, line in enumerate(lines, 1) if n not in drop), encoding="utf-8")
        return targets


def _mrr(index: Index, targets: Sequence[Target], k: int = 10) -> float:
    total = 0.0
    for target in targets:
        for rank, hit in enumerate(index.search(target.query, k), 1):
            if hit.path == target.path and hit.symbol == target.symbol:
                total += 1.0 / rank
                break
    return total / len(targets) if targets else 0.0

"""Mine (query, code) training pairs from a repository's working tree and history.

Its sources, each a way the repository (or, for ``summary``, a local model reading it) says what a piece of
code is for:

- ``doc``: the first sentence of a docstring or doc comment, without the definition's own name in front
  (`doctext.without_own_name`) -> the definition without its doc;
- ``name``: a function's name split into words -> its body (without the signature, so the name is not
  simply repeated);
- ``commit``: a commit's subject line -> the chunks its diff touched (focused commits only);
- ``test``: a test's name split into words -> the body of the function it exercises, when exactly one
  function of that name is called in the test; when asked for (`MiningOptions.specs`), also a JavaScript or
  TypeScript spec's title (``it('...')``) -> the body of the function that it or an enclosing ``describe``
  names and it calls (see `specs`);
- ``comment`` (only when asked for, `MiningOptions.comments_per_definition`): a prose comment block inside a
  function's body -> the function without that comment and without its doc (see `comments`);
- ``prose`` (only when asked for, `MiningOptions.prose_per_definition`): a sentence of the repository's
  documentation (README and guides; not release notes) that names exactly one of its definitions -> that
  definition without its doc (see `prose`);
- ``summary`` (only with a local model to write them, `MiningOptions.summaries`): a model's one-sentence
  summary of a definition -> that definition without its doc (see `summaries`).

Everything passes the secret redactor before it is used; duplicate pairs are dropped, and queries that
point at too many different pieces of code ("fix typo") are dropped as noise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from copilot_index.indexer import (
    Chunk,
    Chunker,
    IndexConfig,
    Redactor,
    RepoInfo,
    Scanner,
    language_for_path,
    read_source,
    split_identifier,
)

from .comments import body_comments
from .doctext import body_of, sentence_of, split_doc, without_own_name
from .prose import DEFINITION_KINDS, named_definitions
from .specs import SPEC_LANGUAGES, spec_targets
from .summaries import Summarize, SummaryCache, pick_definitions, summarize_definitions

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]

SOURCES = ("doc", "name", "commit", "test", "comment", "prose", "summary")
PROSE_PER_DEFINITION = 6
"""`train-embeddings --prose`: documentation sentences paired with one definition at most."""
COMMENTS_PER_DEFINITION = 3
"""`train-embeddings --comments`: comment blocks of a function's body paired with it at most."""
_CALLABLE_KINDS = frozenset({"function", "method"})
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)
_TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|spec)/|(^|/)test_[^/]+$|_test\.\w+$|\.(test|spec)\.\w+$|Tests?\.\w+$")
_TEST_NAME = re.compile(r"^(?:test_?|Test)(?=[A-Za-z0-9_])")


@dataclass(frozen=True)
class Pair:
    """One training example: a natural-language query and the code text it should retrieve."""

    query: str
    positive: str
    """The text the embedder reads for the code side."""
    path: str
    """File the code comes from; the held-out split is made per file."""
    source: str
    """One of SOURCES."""


@dataclass
class MiningOptions:
    max_commits: int = 500
    """Most recent commits whose messages are mined."""
    max_chunks_per_commit: int = 6
    """Commits touching more chunks than this are too broad to say what each chunk does."""
    max_positives_per_query: int = 3
    """A query text pointing at more pieces of code than this is dropped as noise."""
    min_body_chars: int = 40
    """Bodies shorter than this carry too little to learn from."""
    comments_per_definition: int = 0
    """Most comment blocks of a function's body paired with it (0, the default: no ``comment`` pairs)."""
    prose_per_definition: int = 0
    """Most documentation sentences paired with one definition (0, the default: no ``prose`` pairs; on the
    development sets they lift search little and unevenly, see bench_train_embeddings.py --compare-prose)."""
    specs: bool = False
    """`train-embeddings --specs`: JavaScript and TypeScript spec titles as ``test`` pairs (off by default: on four
    JavaScript sets they lifted search no more than without, see docs/search-quality.md)."""
    summaries: int = 0
    """Definitions a local model summarizes into ``summary`` pairs (0: none; needs `PairMiner(summarize=...)`)."""
    seed: int = 0


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


class PairMiner:
    """Mines training pairs from one repository (working tree for code, history for commit messages)."""

    def __init__(
        self,
        repo: RepoInfo,
        config: IndexConfig | None = None,
        options: MiningOptions | None = None,
        progress: ProgressCallback | None = None,
        summarize: Summarize | None = None,
        summary_cache: Path | None = None,
    ) -> None:
        self.repo = repo
        self.summarize = summarize
        self.summary_cache = summary_cache
        self.config = config or IndexConfig.load(repo.root)
        self.options = options or MiningOptions()
        self.progress = progress or (lambda description, done, total: None)
        self.chunker = Chunker(window_lines=self.config.window_lines, window_overlap=self.config.window_overlap)
        self.redactor = Redactor()
        self._spec_files: list[tuple[str, str]] = []
        """(language, redacted text) of the JavaScript and TypeScript test files, for `specs`."""

    def mine(self) -> list[Pair]:
        chunks = self._working_tree_chunks()
        pairs = self._definition_pairs(chunks)
        pairs += self._test_pairs(chunks)
        pairs += self._prose_pairs(chunks)
        pairs += self._summary_pairs(chunks)
        if self.repo.is_git and self.repo.head_commit() is not None:
            pairs += self._commit_pairs({c.path for c in chunks})
        return dedupe(pairs, self.options.max_positives_per_query)

    def _working_tree_chunks(self) -> list[Chunk]:
        files = Scanner(self.repo, self.config).scan().files
        chunks: list[Chunk] = []
        self._spec_files = []
        for done, entry in enumerate(files, 1):
            try:
                read = read_source(self.repo.root / entry.path, self.config)
            except OSError:
                read = "unreadable"
            if not isinstance(read, str):
                text = self.redactor.redact(read[1], entry.path).text
                chunks += self.chunker.chunk(entry.path, text)
                language = language_for_path(entry.path)
                if self.options.specs and language in SPEC_LANGUAGES and is_test_path(entry.path):
                    self._spec_files.append((language, text))
            self.progress("Mining pairs", done, len(files))
        return chunks

    def _definition_pairs(self, chunks: Iterable[Chunk]) -> list[Pair]:
        pairs: list[Pair] = []
        for chunk in chunks:
            if chunk.kind not in DEFINITION_KINDS or not chunk.symbol:
                continue
            split = split_doc(chunk)
            if split is not None:
                doc, code, _ = split
                sentence = sentence_of(doc)
                if sentence and code.strip():
                    query = without_own_name(sentence, chunk.symbol)
                    pairs.append(Pair(query, replace(chunk, text=code).embedding_text(), chunk.path, "doc"))
            if chunk.kind in _CALLABLE_KINDS and not is_test_path(chunk.path):
                pairs += self._comment_pairs(chunk, split[1] if split is not None else chunk.text)
            name = chunk.symbol.rsplit(".", 1)[-1]
            words = split_identifier(name)
            if chunk.kind in _CALLABLE_KINDS and len(words) >= 2 and not _TEST_NAME.match(name):
                body = body_of(chunk)
                if len(body.strip()) >= self.options.min_body_chars:
                    pairs.append(Pair(" ".join(words), body, chunk.path, "name"))
        return pairs

    def _comment_pairs(self, chunk: Chunk, code: str) -> list[Pair]:
        if self.options.comments_per_definition <= 0:
            return []
        pairs: list[Pair] = []
        for comment, without in body_comments(code, chunk.language)[: self.options.comments_per_definition]:
            sentence = sentence_of(comment)
            if sentence and len(without.strip()) >= self.options.min_body_chars:
                pairs.append(Pair(sentence, replace(chunk, text=without).embedding_text(), chunk.path, "comment"))
        return pairs

    def _prose_pairs(self, chunks: list[Chunk]) -> list[Pair]:
        if self.options.prose_per_definition <= 0:
            return []
        pairs = []
        for sentence, target in named_definitions(chunks, is_test_path, self.options.prose_per_definition):
            split = split_doc(target)
            code = replace(target, text=split[1]) if split is not None else target
            pairs.append(Pair(sentence, code.embedding_text(), target.path, "prose"))
        return pairs

    def _summary_pairs(self, chunks: list[Chunk]) -> list[Pair]:
        if self.summarize is None or self.options.summaries <= 0:
            return []
        candidates = []
        for chunk in chunks:
            if chunk.kind not in DEFINITION_KINDS or not chunk.symbol or is_test_path(chunk.path):
                continue
            split = split_doc(chunk)
            code = replace(chunk, text=split[1]) if split is not None else chunk
            if len(body_of(chunk).strip()) >= self.options.min_body_chars:
                candidates.append((code, split is not None))
        picked = pick_definitions([c for c, _ in candidates], self.options.summaries, self.options.seed,
                                  documented={id(c) for c, has_doc in candidates if has_doc})
        found = summarize_definitions(picked, self.summarize, SummaryCache(self.summary_cache), self.progress,
                                      self.redactor)
        return [Pair(sentence, code.embedding_text(), code.path, "summary") for code, sentence in found]

    def _test_pairs(self, chunks: list[Chunk]) -> list[Pair]:
        by_name: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in chunks:
            if chunk.kind in _CALLABLE_KINDS and chunk.symbol and not is_test_path(chunk.path):
                by_name[chunk.symbol.rsplit(".", 1)[-1]].append(chunk)
        pairs: list[Pair] = []
        for test in chunks:
            name = test.symbol.rsplit(".", 1)[-1]
            if test.kind not in _CALLABLE_KINDS or not is_test_path(test.path) or not _TEST_NAME.match(name):
                continue
            target = self._exercised(test, _TEST_NAME.sub("", name), by_name)
            if target is not None:
                body = body_of(target)
                if len(body.strip()) >= self.options.min_body_chars:
                    words = split_identifier(_TEST_NAME.sub("", name))
                    pairs.append(Pair(" ".join(words), body, target.path, "test"))
        return pairs + self._spec_pairs(by_name)

    def _spec_pairs(self, by_name: dict[str, list[Chunk]]) -> list[Pair]:
        functions = {name: found[0] for name, found in by_name.items()
                     if len(found) == 1 and len(name) >= 3 and found[0].language in SPEC_LANGUAGES}
        pairs = []
        for query, target in spec_targets(self._spec_files, functions):
            body = body_of(target)
            if len(body.strip()) >= self.options.min_body_chars:
                pairs.append(Pair(query, body, target.path, "test"))
        return pairs

    @staticmethod
    def _exercised(test: Chunk, rest: str, by_name: dict[str, list[Chunk]]) -> Chunk | None:
        """The function a test's name refers to, if it is called in the test and the name is unambiguous."""
        candidates = [name for name in by_name if len(name) >= 3 and rest.lower().startswith(name.lower().strip("_"))]
        for name in sorted(candidates, key=len, reverse=True):
            if re.search(rf"\b{re.escape(name)}\s*\(", test.text) and len(by_name[name]) == 1:
                return by_name[name][0]
        return None

    def _commit_pairs(self, known_paths: set[str]) -> list[Pair]:
        git_repo = self.repo.open_git()
        commits = list(git_repo.iter_commits("HEAD", max_count=self.options.max_commits, no_merges=True))
        pairs: list[Pair] = []
        for done, commit in enumerate(commits, 1):
            self.progress("Mining commits", done, len(commits))
            if not commit.parents:
                continue  # a root commit imports everything at once and says nothing about any one chunk
            message = commit.message if isinstance(commit.message, str) else commit.message.decode("utf-8", "replace")
            subject = self.redactor.redact(message.strip().split("\n", 1)[0], "COMMIT_EDITMSG").text.strip()
            if len(subject.split()) < 3:
                continue
            touched: list[Chunk] = []
            for diff in commit.parents[0].diff(commit, create_patch=True, unified=0):
                if diff.b_path is None or diff.deleted_file or diff.b_path not in known_paths:
                    continue
                touched += self._touched_chunks(commit, diff.b_path, _new_side_ranges(diff.diff))
                if len(touched) > self.options.max_chunks_per_commit:
                    break
            if len(touched) <= self.options.max_chunks_per_commit:
                pairs += [Pair(subject, c.embedding_text(), c.path, "commit") for c in touched]
        return pairs

    def _touched_chunks(self, commit: object, path: str, ranges: list[tuple[int, int]]) -> list[Chunk]:
        try:
            data = (commit.tree / path).data_stream.read()  # type: ignore[attr-defined]
        except KeyError:
            return []
        if b"\0" in data or len(data) > self.config.max_file_bytes:
            return []
        text = self.redactor.redact(data.decode("utf-8", "replace"), path).text
        chunks = self.chunker.chunk(path, text)
        return [c for c in chunks if any(c.start_line <= last and first <= c.end_line for first, last in ranges)]


def _new_side_ranges(patch: bytes | str | None) -> list[tuple[int, int]]:
    """Line ranges (1-based, inclusive) a unified diff changed on its new side; a pure deletion marks one line."""
    if not patch:
        return []
    text = patch.decode("utf-8", "replace") if isinstance(patch, bytes) else patch
    ranges = []
    for match in _HUNK.finditer(text):
        start, count = int(match.group(1)), int(match.group(2) or 1)
        ranges.append((max(1, start), max(1, start) + max(count, 1) - 1))
    return ranges


def dedupe(pairs: Iterable[Pair], max_positives_per_query: int = 3) -> list[Pair]:
    """Drop repeated (query, code) pairs and queries that point at too many different pieces of code."""
    seen: set[tuple[str, str]] = set()
    unique: list[Pair] = []
    positives: dict[str, set[str]] = defaultdict(set)
    for pair in pairs:
        key = (" ".join(pair.query.lower().split()), hashlib.sha256(pair.positive.encode()).hexdigest())
        if key in seen or not pair.positive.strip():
            continue
        seen.add(key)
        positives[key[0]].add(key[1])
        unique.append(pair)
    return [p for p in unique if len(positives[" ".join(p.query.lower().split())]) <= max_positives_per_query]


def split_by_file(pairs: list[Pair], held_out_share: float = 0.15, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out): every pair of a file lands on the same side, chosen by a seeded hash of its path.

    A file is held out when its hash falls below `held_out_share`. When that leaves the held-out side with
    less than that share of the pairs (a few files holding most of them: cobra's 28 files gave 3 % of its pairs,
    a small library's 1 pair of 144), more files join it in hash order until it holds the share; a file that
    would take the held-out side past half the pairs is passed over, so training keeps most of them.
    """
    paths = sorted({p.path for p in pairs})

    def rank(path: str) -> float:
        return int(hashlib.sha256(f"{seed}:{path}".encode()).hexdigest()[:12], 16) / float(16**12)

    held = {p for p in paths if rank(p) < held_out_share}
    if not held and len(paths) > 1:
        held = {min(paths, key=rank)}
    per_path = Counter(p.path for p in pairs)
    held_pairs = sum(per_path[p] for p in held)
    for path in sorted(set(paths) - held, key=rank)[:-1]:  # the last file always stays on the training side
        if held_pairs >= held_out_share * len(pairs):
            break
        if held_pairs + per_path[path] <= len(pairs) / 2:
            held.add(path)
            held_pairs += per_path[path]
    if len(held) == len(paths) and len(paths) > 1:
        held.discard(max(paths, key=rank))
    return [p for p in pairs if p.path not in held], [p for p in pairs if p.path in held]


def data_hash(pairs: Iterable[Pair]) -> str:
    """sha256 of the pairs (order-independent): the lineage's record of what a model was trained on."""
    lines = sorted(json.dumps(asdict(p), sort_keys=True) for p in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def count_by_source(pairs: Iterable[Pair]) -> dict[str, int]:
    counts = dict.fromkeys(SOURCES, 0)
    for pair in pairs:
        counts[pair.source] = counts.get(pair.source, 0) + 1
    return counts

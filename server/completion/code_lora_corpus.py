"""Training prompts for the shipped code LoRA of the default model (SmolLM2-135M), in the engine's own layout.

`python -m copilot_index.server.completion.code_lora_corpus --corpus-dir .work/lmcorpus --out FILE.jsonl.xz`

The sources are the code-search embedder's licence-checked trees (`conventions.embeddings.corpus_sources`: the
CPython standard library, permissively licensed PyPI wheels and npm packages, Debian's Go sources), with the
projects the team evaluates on left out by name (`EXCLUDED_PROJECTS`). Each sample is a cursor placed as
`../shared/bench/make_completion_set.py` places it (after a code line's indentation) and rendered as the
engine renders a prompt for a model without fill-in-the-middle (`server.completion.prompt`): retrieved snippets
of the same package as comments, then the lines after the cursor's line as comments, then the file's text
before the cursor. What the model must learn to write follows: the rest of the line and a few lines more.
Retrieval is simulated by shared rare identifiers, since indexing every package would take days here.
"""

from __future__ import annotations

import argparse
import json
import logging
import lzma
import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from copilot_index.conventions.embeddings.corpus import STDLIB_BENCHMARK_FILES, excluded_name, tree_config
from copilot_index.conventions.embeddings.corpus_sources import SourceTree, cpython_stdlib, discover, licence_excludes
from copilot_index.indexer import Redactor, RepoInfo, Scanner, comment_prefix, language_for_path

from ..model.backend import Snippet
from ..model.templates import template_named
from .prompt import format_context, format_following

log = logging.getLogger(__name__)

LANGUAGES = {"python": 1.0, "go": 1.0, "javascript": 1.0, "typescript": 0.5}
"""Languages sampled, with their share relative to the others (files are drawn per language)."""
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
WINDOW = 16
"""Lines per retrievable snippet (other files of the same package, cut in windows)."""
MAX_HITS = 64
"""Identifiers in more windows than this are too common to retrieve by."""


@dataclass
class Options:
    cursors_per_file: int = 3
    samples: int = 40000
    middle_lines: int = 6
    """Lines the model learns to write after the cursor (the rest of the cursor's line and these)."""
    prefix_chars: int = 3000
    """Characters of the file before the cursor kept (the engine keeps about 700 tokens of 1,024)."""
    snippet_chars: int = 900
    following_share: float = 0.85
    """Samples that carry the lines after the cursor's line (the engine's default does)."""
    retrieval_share: float = 0.7
    seed: int = 7


def source_files(tree: SourceTree) -> dict[str, list[Path]]:
    """The tree's code files by language, as the embedder's corpus reads the tree (`corpus.tree_config`: no vendored
    copies, tests data or evaluated projects), without minified files, type stubs, and files under 400 bytes or
    over 200 kB."""
    found: dict[str, list[Path]] = defaultdict(list)
    for entry in Scanner(RepoInfo(tree.root.resolve(), None), tree_config(tree)).scan().files:
        rel, path = entry.path, tree.root / entry.path
        language = language_for_path(rel)
        if language not in LANGUAGES or excluded_name(rel) or licence_excludes(tree, rel):
            continue
        if rel.endswith((".min.js", ".d.ts")) or not 400 <= path.stat().st_size <= 200_000:
            continue
        found[language].append(path)
    return found


def readable(text: str) -> bool:
    lines = text.split("\n")
    return len(lines) >= 20 and max(len(line) for line in lines) <= 400 and "\x00" not in text


def is_target(line: str, mark: str) -> bool:
    code = line.strip()
    return len(code) >= 6 and not code.startswith((mark, "#", "/*", "*", '"""', "'''"))


class Package:
    """One tree's files cut in windows, with an identifier index for simulated retrieval."""

    def __init__(self, tree: SourceTree, files: list[Path], redactor: Redactor | None = None) -> None:
        self.tree = tree
        self.redactor = redactor or Redactor()
        self.texts: dict[Path, str] = {}
        self.windows: list[tuple[str, int, str]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        for path in files:
            rel = path.relative_to(tree.root).as_posix()
            lines = self.read(path).split("\n")
            for start in range(0, len(lines), WINDOW):
                text = "\n".join(lines[start : start + WINDOW]).strip("\n")
                if len(text) < 80:
                    continue
                self.windows.append((rel, start + 1, text))
                for word in set(WORD.findall(text)):
                    self.postings[word].append(len(self.windows) - 1)

    def read(self, path: Path) -> str:
        """The file's text with secrets redacted (as the indexer redacts them): none reach the training data.
        Redacted once: the windows and the samples read the same text."""
        if path not in self.texts:
            rel = path.relative_to(self.tree.root).as_posix()
            self.texts[path] = self.redactor.redact(path.read_text(errors="replace"), rel).text
        return self.texts[path]

    def retrieve(self, query: str, own: str, most: int) -> list[Snippet]:
        """Windows of other files sharing the most rare identifiers with `query` (idf-weighted)."""
        scores: Counter[int] = Counter()
        total = max(1, len(self.windows))
        for word in set(WORD.findall(query)):
            hits = self.postings.get(word, [])
            if 0 < len(hits) <= min(MAX_HITS, total // 4):
                weight = math.log(total / len(hits))
                for i in hits:
                    if self.windows[i][0] != own:
                        scores[i] += weight  # type: ignore[assignment]
        chosen = [i for i, _ in scores.most_common(most)]
        return [Snippet(self.windows[i][0], self.windows[i][1], self.windows[i][1] + WINDOW - 1, self.windows[i][2], 0.0)
                for i in chosen]


def render(rel: str, language: str, lines: list[str], i: int, package: Package, options: Options,
           rng: random.Random) -> dict[str, str]:
    """One sample at line `i`: the engine's context (snippets, following lines), the prefix, the middle."""
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    prefix = ("\n".join(lines[:i]) + "\n" + indent)[-options.prefix_chars :]
    suffix_after = "\n".join(lines[i:])  # the engine's suffix starts with the rest of the cursor's line
    middle = lines[i][len(indent) :] + "\n" + "\n".join(lines[i + 1 : i + 1 + options.middle_lines])
    context = ""
    if rng.random() < options.retrieval_share:
        query = "\n".join(lines[max(0, i - 20) : i])
        snippets, used = [], 0
        for snippet in package.retrieve(query, rel, rng.choice((1, 2, 3))):
            if used + len(snippet.text) <= options.snippet_chars:
                snippets.append(snippet)
                used += len(snippet.text)
        context = format_context(template_named("plain"), rel, language, snippets)
    if rng.random() < options.following_share:
        context += format_following(rel, language, suffix_after, 8)
    return {"language": language, "path": f"{package.tree.name}/{rel}", "context": context, "prefix": prefix,
            "middle": middle}


def build(corpus_dir: Path, out: Path, options: Options) -> Counter[str]:
    """Write `options.samples` samples, languages balanced by `LANGUAGES`, to `out` (JSON lines, xz)."""
    rng = random.Random(options.seed)
    trees = [cpython_stdlib(STDLIB_BENCHMARK_FILES)] + discover(corpus_dir).trees
    by_language: dict[str, list[tuple[Path, Package]]] = defaultdict(list)
    for tree in trees:
        if excluded_name(tree.package):
            log.info("left out %s: an evaluated project", tree.name)
            continue
        found = source_files(tree)
        package = Package(tree, [p for paths in found.values() for p in paths])
        for language, paths in found.items():
            by_language[language].extend((p, package) for p in paths)
    weights = {lang: LANGUAGES[lang] for lang in by_language}
    for lang, files in by_language.items():
        log.info("%s: %d files", lang, len(files))
        rng.shuffle(files)
    counts: Counter[str] = Counter()
    per_language = {lang: int(options.samples * w / sum(weights.values())) for lang, w in weights.items()}
    with lzma.open(out, "wt", preset=9) as sink:
        for lang, files in by_language.items():
            for path, package in files:
                if counts[lang] >= per_language[lang]:
                    break
                text = package.read(path)
                if not readable(text):
                    continue
                lines = text.split("\n")
                mark = comment_prefix(lang)
                targets = [i for i in range(10, len(lines) - 1) if is_target(lines[i], mark)]
                rel = path.relative_to(package.tree.root).as_posix()
                for i in sorted(rng.sample(targets, min(options.cursors_per_file, len(targets)))):
                    sink.write(json.dumps(render(rel, lang, lines, i, package, options, rng)) + "\n")
                    counts[lang] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus-dir", type=Path, default=Path(".work/lmcorpus"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=Options.samples)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = build(args.corpus_dir, args.out, Options(samples=args.samples))
    log.info("wrote %s: %s", args.out, dict(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

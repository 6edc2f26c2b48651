"""Retrieved-context training samples: snippets of sibling files laid out as the engine lays them.

At inference the engine puts the snippets that hybrid search found in other files of the
repository before the current file, in the template's file-separator form::

    <|file_sep|>pkg/other.py
    def helper(...): ...
    <|file_sep|>pkg/current.py
    {prefix}

A model that never saw this layout in training treats it as noise. Here a share of the
pre-training samples gets the same layout, with snippets chosen the way retrieval would choose
them: blocks (functions, classes, runs of top-level code) of other files of the same package that
share the rarest identifiers with the text around the cursor. The current file is never its own
context.
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
BLOCK_START = re.compile(r"^(?:\s*)(?:async\s+def|def|class)\s|^@")
MAX_BLOCK_LINES = 30
QUERY_IDENTIFIERS = 12  # the rarest identifiers of the query text that are looked up
MAX_POSTINGS = 64  # identifiers in more blocks than this are too common to retrieve by


@dataclass(frozen=True)
class Block:
    file: int
    text: str


def group_of(path: str) -> str:
    """The "repository" a corpus file belongs to: its stdlib package, or its distribution."""
    parts = path.split("/")
    if parts[0] == "stdlib":
        return "/".join(parts[:2]) if len(parts) > 2 else "stdlib"
    return parts[0]


def display_path(path: str) -> str:
    """The path as the engine shows it: relative to the repository (the origin dropped)."""
    return path.split("/", 1)[1] if "/" in path else path


def split_blocks(text: str) -> list[str]:
    """Cut a file at function, class and decorator lines, then into runs of at most
    `MAX_BLOCK_LINES` lines; blocks without code are dropped."""
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if BLOCK_START.match(line) and blocks[-1] and not blocks[-1][-1].lstrip().startswith("@"):
            blocks.append([])
        if len(blocks[-1]) >= MAX_BLOCK_LINES:
            blocks.append([])
        blocks[-1].append(line)
    return [text for lines in blocks if (text := "\n".join(lines).strip("\n")).strip()]


class SiblingIndex:
    """An identifier index of every block of every file, per group, to pick context snippets."""

    def __init__(self, paths: list[str], texts: list[str]) -> None:
        self.paths = paths
        self.groups = [group_of(p) for p in paths]
        self.blocks: list[Block] = []
        self.postings: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for index, text in enumerate(texts):
            group = self.postings[self.groups[index]]
            for block_text in split_blocks(text):
                block_id = len(self.blocks)
                self.blocks.append(Block(index, block_text))
                for name in set(IDENTIFIER.findall(block_text)):
                    group[name].append(block_id)

    def snippets(self, file: int, query: str, rng: random.Random, max_chars: int) -> list[Block]:
        """Blocks of other files of `file`'s group that share the rarest identifiers with `query`,
        best first, within `max_chars` in all; sometimes fewer, so the model also sees short
        context."""
        postings = self.postings.get(self.groups[file], {})
        found = [(len(postings[n]), n) for n in set(IDENTIFIER.findall(query)) if n in postings]
        rare = sorted(x for x in found if 1 <= x[0] <= MAX_POSTINGS)[:QUERY_IDENTIFIERS]
        scores: dict[int, float] = defaultdict(float)
        for count, name in rare:
            weight = math.log(1 + MAX_POSTINGS / count)
            for block_id in postings[name]:
                if self.blocks[block_id].file != file:
                    scores[block_id] += weight
        chosen, used = [], 0
        wanted = rng.randint(1, 3)
        for block_id in sorted(scores, key=lambda b: (-scores[b], b)):
            block = self.blocks[block_id]
            if used + len(block.text) > max_chars:
                continue
            chosen.append(block)
            used += len(block.text)
            if len(chosen) == wanted:
                break
        return chosen

    def render(self, file: int, snippets: list[Block], separator: str) -> str:
        """The context text before the current file, as `format_context` writes it."""
        if not snippets:
            return ""
        parts = [f"{separator}{display_path(self.paths[s.file])}\n{s.text.rstrip()}\n" for s in snippets]
        return "".join(parts) + f"{separator}{display_path(self.paths[file])}\n"

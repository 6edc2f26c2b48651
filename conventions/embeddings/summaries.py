"""``summary`` pairs: a local language model says in one sentence what a definition does.

A repository's own pairs (names, tests, the docs it still has) rarely read like what people type into a
search box; a one-sentence summary of the code does, and a small instruction model can write one for any
definition, documented or not (doc2query / GPL-style pseudo-queries). The model runs on this machine (the
caller passes it in as `Summarize`, see `copilot_index.server.completion.summaries`), sees only redacted code,
and its sentence passes the redactor again before it becomes a query.

Summaries are cached in the repository's data folder by the code's hash and the model's name, so a second
`train-embeddings` pays only for code that changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Protocol

from copilot_index.indexer import Chunk, Redactor

from ..registry import write_json_atomic

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
SUMMARY_LINES = 20
"""Lines of a definition shown to the model (its start says most of what it does)."""
MIN_WORDS = 4
SAVE_EVERY = 25
"""Summaries written between two saves of the cache."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


class Summarize(Protocol):
    """A local model that writes one sentence about a piece of code (None when it has nothing to say)."""

    name: str

    def __call__(self, code: str, language: str) -> str | None: ...


def clean_summary(text: str | None) -> str | None:
    """The summary's first sentence as a query, or None when it is too short or repeats itself."""
    if not text:
        return None
    sentence = _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0].strip().rstrip(".,;:")
    words = sentence.split()
    if len(words) < MIN_WORDS or len(sentence) > 300:
        return None
    if len({w.lower() for w in words}) < 0.6 * len(words):
        return None  # "Redirects a request to a Redirect function, which Redirects ..." says nothing
    return sentence


def pick_definitions(candidates: Sequence[Chunk], limit: int, seed: int = 0,
                     documented: Collection[int] = ()) -> list[Chunk]:
    """At most `limit` definitions, a seeded sample in which undocumented ones (those whose `id` is not in
    `documented`) come first: they have no ``doc`` pair of their own."""
    order = list(candidates)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda chunk: id(chunk) in documented)
    return order[: max(0, limit)]


class SummaryCache:
    """`{hash: sentence}` in one JSON file; a broken or missing file is an empty cache."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, str | None] = {}
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self.entries = {str(k): v for k, v in loaded.items() if v is None or isinstance(v, str)}
            except (OSError, ValueError, AttributeError):
                log.warning("ignoring the unreadable summary cache %s; summaries are written again", path)

    @staticmethod
    def key(model: str, code: str) -> str:
        return hashlib.sha256(f"{model}\0{code}".encode()).hexdigest()

    def save(self) -> None:
        if self.path is not None:
            write_json_atomic(self.path, self.entries)


def summarize_definitions(
    chunks: Sequence[Chunk],
    summarize: Summarize,
    cache: SummaryCache | None = None,
    progress: ProgressCallback | None = None,
    redactor: Redactor | None = None,
) -> list[tuple[Chunk, str]]:
    """(definition, query) for each chunk the model could summarize; every query is redacted before it is
    cached or used."""
    progress = progress or (lambda description, done, total: None)
    cache = cache or SummaryCache(None)
    redactor = redactor or Redactor()
    found: list[tuple[Chunk, str]] = []
    for done, chunk in enumerate(chunks, 1):
        code = "\n".join(chunk.text.splitlines()[:SUMMARY_LINES])
        key = SummaryCache.key(summarize.name, code)
        if key not in cache.entries:
            sentence = clean_summary(summarize(code, chunk.language))
            cache.entries[key] = redactor.redact(sentence, "summary.txt").text if sentence else None
        sentence = cache.entries[key]
        if sentence:
            found.append((chunk, sentence))
        progress("Summarizing definitions", done, len(chunks))
        if done % SAVE_EVERY == 0:
            cache.save()  # an interrupted run keeps what it wrote
    cache.save()
    return found

"""Winnowing fingerprints of code, for finding verbatim copies of indexed chunks.

Code is normalized (whitespace dropped, lower-cased), every k-gram of the normalized text is
hashed, and winnowing (Schleimer, Wilkerson, Aiken 2003) keeps the smallest hash of each window
of `WINDOW` consecutive k-grams. Any shared normalized span of at least `WINDOW + K - 1`
characters is then guaranteed to share a kept fingerprint, so a sparse set in the index finds
every copy of 150 characters. The length of a copy is measured exactly by `longest_shared_span`,
which re-scans the candidate chunk's text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

K = 30
"""Characters per hashed k-gram of normalized text."""
WINDOW = 20
"""k-grams per winnowing window: a shared span of K + WINDOW - 1 = 49 characters is always found."""
VERSION = f"winnow-k{K}-w{WINDOW}-v1"
"""Stored in the index; a change asks for the fingerprints to be recomputed."""


@dataclass(frozen=True)
class Normalized:
    """Normalized text and, for each of its characters, the offset of that character in the original."""

    text: str
    offsets: list[int]


def normalize(text: str) -> Normalized:
    """Drop whitespace and lower-case, remembering where every kept character came from."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch.lower())
            offsets.append(i)
    return Normalized("".join(chars), offsets)


def kgram_hash(gram: str) -> int:
    """A signed 64-bit hash of one k-gram (stable across processes, fits an SQLite INTEGER)."""
    digest = hashlib.blake2b(gram.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def kgram_hashes(normalized: str, k: int = K) -> list[int]:
    """The hash of every k-gram, in order (position i covers normalized[i:i+k])."""
    return [kgram_hash(normalized[i : i + k]) for i in range(len(normalized) - k + 1)]


def winnow(hashes: list[int], window: int = WINDOW) -> list[tuple[int, int]]:
    """The (hash, position) pairs winnowing selects: the rightmost minimum of each window, once each."""
    if not hashes:
        return []
    if len(hashes) <= window:
        position = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return [(hashes[position], position)]
    kept: list[tuple[int, int]] = []
    last = -1
    for start in range(len(hashes) - window + 1):
        best = start
        for i in range(start + 1, start + window):
            if hashes[i] <= hashes[best]:
                best = i
        if best != last:
            kept.append((hashes[best], best))
            last = best
    return kept


def fingerprints(text: str) -> list[tuple[int, int]]:
    """Winnowed (hash, normalized position) fingerprints of `text`, for storing with a chunk."""
    return winnow(kgram_hashes(normalize(text).text))


@dataclass(frozen=True)
class SharedSpan:
    """The longest normalized span that a query and a candidate text have in common."""

    length: int
    """Normalized characters shared."""
    query_start: int
    """Normalized position in the query."""
    candidate_start: int
    """Normalized position in the candidate."""


def longest_shared_span(query: str, candidate: str, k: int = K, max_seeds: int = 16) -> SharedSpan:
    """Longest common run of two normalized texts that is at least `k` long (else length 0).

    Seeds are shared k-grams; each seed is extended in both directions by direct comparison.
    """
    best = SharedSpan(0, 0, 0)
    if len(query) < k or len(candidate) < k:
        return best
    positions: dict[str, list[int]] = {}
    for j in range(len(candidate) - k + 1):
        bucket = positions.setdefault(candidate[j : j + k], [])
        if len(bucket) < max_seeds:
            bucket.append(j)
    covered: dict[int, int] = {}  # diagonal (i - j) -> query position its best run already reached
    for i in range(len(query) - k + 1):
        for j in positions.get(query[i : i + k], ()):
            if i < covered.get(i - j, -1):
                continue
            start_q, start_c = i, j
            while start_q > 0 and start_c > 0 and query[start_q - 1] == candidate[start_c - 1]:
                start_q, start_c = start_q - 1, start_c - 1
            end_q, end_c = i + k, j + k
            while end_q < len(query) and end_c < len(candidate) and query[end_q] == candidate[end_c]:
                end_q, end_c = end_q + 1, end_c + 1
            covered[i - j] = end_q
            if end_q - start_q > best.length:
                best = SharedSpan(end_q - start_q, start_q, start_c)
    return best

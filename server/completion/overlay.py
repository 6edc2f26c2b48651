"""Unsaved editor buffers as retrieval context: their text takes precedence over the index's copy.

The index holds what is on disk. When another open document has unsaved changes, its indexed chunks
are stale: the retriever drops them and scores this module's chunks of the buffer text instead, the
same way the index's hybrid search does (weighted dense cosine plus keyword overlap). Buffers are
redacted before they are chunked, like files before they are indexed, and chunks and vectors are
cached, so only what changed since the last request is chunked and embedded again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from copilot_index.indexer import Chunk, Chunker, Redactor, keyword_text, query_terms

EmbedFunction = Callable[[list[str]], np.ndarray]

MAX_DOCUMENT_CHARS = 1_000_000
"""Larger unsaved buffers are not used as context."""


class _Lru(OrderedDict):  # type: ignore[type-arg]
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: object, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class UnsavedBuffers:
    """Chunks and vectors of unsaved buffers, cached across requests; thread-safe."""

    def __init__(self, chunker: Chunker | None = None, *, documents: int = 64, vectors: int = 4096) -> None:
        self.chunker = chunker or Chunker()
        self.redactor = Redactor()
        self._chunks = _Lru(documents)
        self._vectors = _Lru(vectors)
        self._lock = threading.Lock()

    def chunks(self, path: str, text: str) -> list[Chunk]:
        """The redacted chunks of one buffer."""
        if len(text) > MAX_DOCUMENT_CHARS:
            return []
        key = (path, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
        with self._lock:
            cached = self._chunks.get(key)
        if cached is None:
            cached = self.chunker.chunk(path, self.redactor.redact(text, path).text)
            with self._lock:
                self._chunks.remember(key, cached)
        return cached

    def score(
        self,
        documents: Sequence[tuple[str, str]],
        query: str,
        query_vector: np.ndarray,
        embed: EmbedFunction,
        dense_weight: float,
        k: int,
    ) -> list[tuple[Chunk, float]]:
        """The `k` best chunks of `documents` ((path, text) pairs) for `query`, with hybrid-like scores."""
        chunks = [chunk for path, text in documents for chunk in self.chunks(path, text)]
        if not chunks:
            return []
        vectors = self._embed([c.embedding_text() for c in chunks], embed)
        dense = vectors @ np.asarray(query_vector, dtype=np.float32)
        terms = set(query_terms(query))
        scored = []
        for chunk, cosine in zip(chunks, dense, strict=True):
            words = set(keyword_text(chunk.embedding_text()).split())
            overlap = len(terms & words) / len(terms) if terms else 0.0
            scored.append((chunk, dense_weight * float(cosine) + (1.0 - dense_weight) * overlap))
        scored.sort(key=lambda item: -item[1])
        return scored[:k]

    def _embed(self, texts: list[str], embed: EmbedFunction) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = embed(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._vectors.remember(text, vector)
                    known[text] = vector
        return np.stack([known[t] for t in texts]).astype(np.float32)

"""How bench_search_ablation.py builds an index per ablation: the index-side variant (embedder, chunking and
what is embedded), the embedder behind a persistent vector cache, the yardstick's naive regex chunks, and the
index built with the project's own Indexer under those overrides. The yardstick scripts are loaded from
`$BENCH_DIR` (default /work/shared/bench)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from copilot_index.indexer import chunker as chunker_module
from copilot_index.indexer import pipeline as pipeline_module
from copilot_index.indexer.chunker import Chunk, Chunker
from copilot_index.indexer.config import DEFAULT_EMBEDDER, IndexConfig
from copilot_index.indexer.datadir import DataDir, onnx_exports
from copilot_index.indexer.embedder import Embedder, weights_digest
from copilot_index.indexer.repo import resolve_repo
from copilot_index.indexer.store import ChunkStore

BENCH = Path(os.environ.get("BENCH_DIR", "/work/shared/bench"))


def _load_bench(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader, f"{name}.py not found under {BENCH}; set BENCH_DIR"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


yardstick = _load_bench("retrieval_eval")
set_maker = _load_bench("make_retrieval_set")


@dataclass(frozen=True)
class IndexVariant:
    embedder: str = DEFAULT_EMBEDDER
    backend: str = "auto"
    seq: int = 256
    header: str = "project"
    context: bool = True
    lead_comments: bool = True
    large_class_lines: int = 80
    module_chunks: bool = True
    naive_chunks: str = ""
    skip: tuple[str, ...] = ()


class CachedEmbedder:
    """The project's Embedder behind a persistent cache of vectors keyed by the exact text embedded."""

    def __init__(self, model_id: str, backend: str, seq: int, cache_dir: Path) -> None:
        self.inner = Embedder(model_id, max_seq_length=seq, backend=backend, onnx_dir=onnx_exports())
        if seq > 256:  # the product caps at the model's own limit (256 for MiniLM); lift it for this ablation
            assert backend == "torch", "seq above 256 is measured with the fp32 backend only"
            self.inner.model.max_seq_length = seq
        self.model_id = self.inner.model_id
        weights = weights_digest(model_id)  # a retrained model (even of the same size) is another key
        stamp = hashlib.sha256(f"{model_id}:{weights}".encode()).hexdigest()[:10]
        self.key = f"{stamp}-{self.inner.backend}-{seq}"
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(cache_dir / f"vectors-{self.key}.sqlite")
        self.db.execute("CREATE TABLE IF NOT EXISTS v (h TEXT PRIMARY KEY, vec BLOB)")

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        hashes = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        found: dict[str, bytes] = {}
        for i in range(0, len(hashes), 500):
            part = hashes[i : i + 500]
            found.update(self.db.execute(f"SELECT h, vec FROM v WHERE h IN ({','.join('?' * len(part))})", part))
        missing = list({h: t for h, t in zip(hashes, texts, strict=True) if h not in found}.items())
        if missing:
            vectors = self.inner.embed([t for _, t in missing])
            rows = [(h, v.astype(np.float32).tobytes()) for (h, _), v in zip(missing, vectors, strict=True)]
            self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", rows)
            self.db.commit()
            found.update(rows)
        return np.stack([np.frombuffer(found[h], dtype=np.float32) for h in hashes])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


# -- index-side overrides -----------------------------------------------------------------------------------

_COMMENT = re.compile(r"^\s*(#|//|/\*|\*|--)")


def embedding_text(variant: IndexVariant, chunk: Chunk) -> str:
    """Stands in for `Chunk.embedding_text`: header, context and leading doc comments per the variant."""
    lines = chunk.text.split("\n")
    while not variant.lead_comments and len(lines) > 1 and (_COMMENT.match(lines[0]) or not lines[0].strip()):
        lines.pop(0)
    context = chunk.context + "\n" if variant.context and chunk.context else ""
    header = {"project": f"# {chunk.path} :: {chunk.symbol}\n" if chunk.symbol else f"# {chunk.path}\n",
              "path": f"{chunk.path}\n", "none": ""}[variant.header]
    return (header + context + "\n".join(lines))[: chunker_module.MAX_EMBEDDING_CHARS]


class NaiveChunker:
    """The yardstick's regex chunks (as retrieval_eval.chunks cuts them) as project `Chunk`s; no other files.

    With `lead`, each boundary moves up over the comment block directly above a definition, so a doc comment
    belongs to its own definition instead of ending the chunk before it."""

    def __init__(self, lead: bool) -> None:
        self.lead = lead

    def chunk(self, path: str, text: str) -> list[Chunk]:
        if Path(path).suffix not in yardstick.EXT:
            return []
        lines = text.split("\n")
        starts = [i for i, line in enumerate(lines) if yardstick.DEF.match(line)] or [0]
        while self.lead and any(s > 0 and _COMMENT.match(lines[s - 1]) for s in starts):
            starts = [s - 1 if s > 0 and _COMMENT.match(lines[s - 1]) else s for s in starts]
        starts = sorted({0, *starts, len(lines)})
        language = chunker_module.language_for_path(path) or "text"
        return [Chunk(path, language, "", "function", a + 1, b, "\n".join(lines[a:b]))
                for a, b in zip(starts, starts[1:], strict=False) if "\n".join(lines[a:b]).strip()]


class VariantChunker(Chunker):
    def __init__(self, variant: IndexVariant, config: IndexConfig) -> None:
        super().__init__(window_lines=config.window_lines, window_overlap=config.window_overlap,
                         large_class_lines=variant.large_class_lines)
        self.variant = variant

    def chunk(self, path: str, text: str) -> list[Chunk]:
        chunks = super().chunk(path, text)
        return chunks if self.variant.module_chunks else [c for c in chunks if c.kind != "module"]


@contextlib.contextmanager
def patched_embedding_text(variant: IndexVariant) -> Iterator[None]:
    original = Chunk.embedding_text
    Chunk.embedding_text = lambda self: embedding_text(variant, self)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Chunk.embedding_text = original  # type: ignore[method-assign]


def build_index(name: str, repo_dir: Path, variant: IndexVariant, embedder: CachedEmbedder, work: Path) -> ChunkStore:
    """Index `repo_dir` with the project's Indexer under the variant's overrides; kept by signature (the variant,
    the embedder, and the chunker's and pipeline's source and queries, so a change there rebuilds it)."""
    source = "".join(inspect.getsource(m) for m in (chunker_module, pipeline_module))
    queries = Path(chunker_module.__file__).with_name("queries")  # the tree-sitter queries cut the chunks too
    source += "".join(q.read_text(encoding="utf-8") for q in sorted(queries.glob("*.scm")))
    signature = json.dumps([repr(variant), embedder.key, hashlib.sha256(source.encode()).hexdigest()])
    folder = work / "index" / name / hashlib.sha256(signature.encode()).hexdigest()[:16]
    if not (folder / "signature.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        config = IndexConfig()
        config.vendored = [*config.vendored, *variant.skip]
        indexer = pipeline_module.Indexer(resolve_repo(repo_dir), DataDir(folder), config=config, embedder=embedder)  # type: ignore[arg-type]
        if variant.naive_chunks:
            indexer.chunker = NaiveChunker(variant.naive_chunks == "lead")  # type: ignore[assignment]
        else:
            indexer.chunker = VariantChunker(variant, config)
        with patched_embedding_text(variant):
            summary = indexer.run(rebuild=True)
        (folder / "signature.json").write_text(json.dumps({"variant": repr(variant), "files": summary.files_scanned,
                                                           "skipped": summary.skipped}, indent=1))
    return ChunkStore(folder / "index.db")

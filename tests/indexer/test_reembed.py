"""Re-embedding (`Index.swap_vectors`) is atomic: searches during it never fail and see the old index."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from embedding_repo import build_shop

from copilot_index.conventions.embeddings.training import load_trainable
from copilot_index.indexer import reembed
from copilot_index.indexer.chunker import Chunk
from copilot_index.indexer.config import DEFAULT_EMBEDDER
from copilot_index.indexer.embedder import Embedder, resolve_embedder_path, weights_digest
from copilot_index.indexer.errors import IndexBusyError, NoIndexError
from copilot_index.indexer.index import Index
from copilot_index.indexer.reembed import ReembedError
from copilot_index.indexer.search import MODES, HybridSearch
from copilot_index.indexer.store import ChunkStore
from copilot_index.indexer.store.database import EMBEDDER_WEIGHTS


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of MiniLM with perturbed weights: same dimension, visibly different vectors."""
    import torch

    model = load_trainable(resolve_embedder_path(DEFAULT_EMBEDDER))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.02)
    folder = tmp_path_factory.mktemp("models") / "perturbed"
    model.save(str(folder))
    return str(folder)


def _open(index: Index) -> ChunkStore:
    return ChunkStore(index.data_dir.database, create=False)


def _stored_vector(index: Index, symbol: str) -> tuple[np.ndarray, str]:
    store = _open(index)
    try:
        row = store.conn.execute(
            "SELECT c.chunk_hash, f.path, c.language, c.symbol, c.kind, c.start_line, c.end_line, c.text, c.context "
            "FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.symbol = ?",
            (symbol,),
        ).fetchone()
        blob = store.live_vectors([row[0]])[row[0]]
    finally:
        store.close()
    return np.frombuffer(blob, dtype=np.float32), Chunk(*row[1:]).embedding_text()


def test_searches_during_re_embedding_never_fail(  # type: ignore[no-untyped-def]
    repo, run_index, open_index, embedder: Embedder, other_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_shop(repo)
    run_index(repo.root)
    index = open_index(repo.root)
    monkeypatch.setattr(reembed, "BATCH", 2)  # many small steps, each a chance for a search to interleave
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()

    def search_once(before_swap: bool = False) -> None:
        store = _open(index)
        try:
            for mode in MODES:
                results = HybridSearch(store, embedder).query("remove an item from the cart", k=3, mode=mode)  # type: ignore[arg-type]
                counts.append(len(results))
                if before_swap:
                    assert results[0].path == "shop/cart.py"
        finally:
            store.close()

    def keep_searching() -> None:
        while not done.is_set():
            try:
                search_once()
            except BaseException as exc:  # noqa: B036 - any failure is what the test looks for
                errors.append(exc)
                return

    old_meta: list[str | None] = []

    def progress(description: str, finished: int, total: int) -> None:
        store = _open(index)
        old_meta.append(store.get_meta("embedder"))  # the old index stays in force until the swap
        store.close()
        search_once(before_swap=True)

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        summary = index.swap_vectors(Embedder(other_model), progress)
    finally:
        done.set()
        searcher.join()
    assert not errors, errors
    assert len(old_meta) > 3 and set(old_meta) == {DEFAULT_EMBEDDER}
    assert counts and all(n > 0 for n in counts)
    assert summary.chunks > 0 and summary.embedder == other_model

    vector, text = _stored_vector(index, "remove_item")
    expected = Embedder(other_model).embed([text])[0]
    assert np.allclose(vector, expected, atol=1e-5)
    assert float(vector @ embedder.embed([text])[0]) < 0.999
    store = _open(index)
    try:
        assert store.get_meta("embedder") == other_model
        assert store.get_meta(EMBEDDER_WEIGHTS) == weights_digest(other_model) != weights_digest(DEFAULT_EMBEDDER)
        for mode in MODES:
            assert HybridSearch(store, Embedder(other_model)).query("add an item to the cart", k=1, mode=mode)  # type: ignore[arg-type]
    finally:
        store.close()


def test_re_embedding_waits_for_the_index_lock_and_needs_an_index(  # type: ignore[no-untyped-def]
    repo, run_index, open_index, embedder: Embedder
) -> None:
    index = open_index(repo.root)
    with pytest.raises(NoIndexError):
        index.swap_vectors(embedder)
    build_shop(repo)
    run_index(repo.root)
    with index.writer_lock(), pytest.raises(IndexBusyError):
        index.swap_vectors(embedder)


def test_a_different_dimension_is_refused(repo, run_index, open_index, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    run_index(repo.root)
    index = open_index(repo.root)

    class Wider(Embedder):
        @property
        def dimension(self) -> int:
            return 512

    with pytest.raises(ReembedError, match="384-dimensional"):
        index.swap_vectors(Wider())
    store = _open(index)
    assert store.get_meta("embedder") == DEFAULT_EMBEDDER
    store.close()

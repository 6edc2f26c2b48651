from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlean

from copilot_index.indexer.chunker import Chunk
from copilot_index.indexer.errors import EmbedderMismatchError, IndexAccessError, IndexCorruptError
from copilot_index.indexer.store import ChunkStore, StoredFile, database, vector_blob


def _chunk(text: str, line: int = 1) -> Chunk:
    return Chunk("a.py", "python", text.split("(")[0].removeprefix("def "), "function", line, line + 1, text)


def _vec(seed: int) -> bytes:
    v = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    return vector_blob(v / np.linalg.norm(v))


def test_migrations_meta_and_identity(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.db")
    store.ensure_embedder("model-a", 8)
    assert store.get_meta("schema_version") == "3" and store.dimension == 8
    store.close()
    reopened = ChunkStore(tmp_path / "index.db")
    assert reopened.dimension == 8
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        reopened.ensure_embedder("model-b", 8)
    conn = sqlite3.connect(tmp_path / "index.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_replaced_chunks_move_to_the_cache(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.db")
    store.ensure_embedder("model-a", 8)
    old, new = _chunk("def f(): return 1"), _chunk("def g(): return 2")
    with store.transaction():
        store.write_file(StoredFile("a.py", "h1", 10, 1), "python", [old], [_vec(1)])
    assert set(store.live_vectors([old.content_hash])) == {old.content_hash}
    with store.transaction():
        removed = store.write_file(StoredFile("a.py", "h2", 10, 2), "python", [new], [_vec(2)])
    assert removed == 1 and store.count("chunks") == 1 and store.count("embedding_cache") == 1
    assert store.live_vectors([old.content_hash])[old.content_hash] == _vec(1)  # from the cache
    with store.transaction():
        store.delete_file("a.py")
    assert store.count("chunks") == 0 and store.count("embedding_cache") == 2
    store.prune_cache(limit=1)
    assert store.count("embedding_cache") == 1


def test_failed_transaction_leaves_the_old_file(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.db")
    store.ensure_embedder("model-a", 8)
    with store.transaction():
        store.write_file(StoredFile("a.py", "h1", 10, 1), "python", [_chunk("def f(): pass")], [_vec(1)])
    with pytest.raises(RuntimeError), store.transaction():
        store.write_file(StoredFile("a.py", "h2", 10, 2), "python", [_chunk("def g(): pass")], [_vec(2)])
        raise RuntimeError("killed half way")
    assert store.files()["a.py"].content_hash == "h1" and store.count("chunks") == 1


def test_garbage_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    (tmp_path / "index.db").write_bytes(b"\x00garbage" * 512)
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        ChunkStore(tmp_path / "index.db")


def test_two_connections_creating_the_index_at_once(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            ChunkStore(tmp_path / "index.db").close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _hold_first_transaction(path: Path) -> sqlean.Connection:
    """Another process's first write to a new index file, still in rollback-journal mode (before its WAL switch)."""
    other = sqlean.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE being_created (x)")
    return other


def test_opening_an_index_another_process_is_creating_waits_for_it(tmp_path: Path) -> None:
    """SQLite refuses the switch to WAL at once, without its busy wait, while another connection holds the new
    file's first transaction: two commands started together on a new repository used to fail one of them."""
    other = _hold_first_transaction(tmp_path / "index.db")
    threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    store = ChunkStore(tmp_path / "index.db")
    assert time.monotonic() - started >= 0.4
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_an_index_locked_too_long_says_so_instead_of_calling_it_corrupt(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(database, "LOCK_WAIT_S", 0.3)
    other = _hold_first_transaction(tmp_path / "index.db")
    with pytest.raises(IndexAccessError, match=r"locked by another copilot-index process .* run the command again"):
        ChunkStore(tmp_path / "index.db")
    other.execute("ROLLBACK")

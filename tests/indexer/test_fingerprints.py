from __future__ import annotations

import random
from pathlib import Path

import pytest

from copilot_index.indexer import fingerprints as fp
from copilot_index.indexer.chunker import Chunker
from copilot_index.indexer.store import ChunkStore, StoredFile

CODE = """def scale_rows(matrix, weights, epsilon):
    for row in matrix:
        total = sum((value * weight) ** 2 for value, weight in zip(row, weights))
        factor = 1.0 / max(total, epsilon)
        row[:] = [value * factor + weight * epsilon for value, weight in zip(row, weights)]
    return matrix
"""


def test_normalize_drops_whitespace_and_case_and_keeps_offsets() -> None:
    n = fp.normalize("A b\n\tC")
    assert n.text == "abc"
    assert n.offsets == [0, 2, 5]


def test_winnowing_guarantees_a_shared_fingerprint_for_every_long_copy() -> None:
    rng = random.Random(3)
    alphabet = "abcdefghijklmnopqrstuvwxyz(){}=+;"
    for _ in range(50):
        a = "".join(rng.choice(alphabet) for _ in range(400))
        b = "".join(rng.choice(alphabet) for _ in range(400))
        start = rng.randrange(0, 300)
        shared = a[start : start + fp.K + fp.WINDOW - 1]
        b = b[:100] + shared + b[100:]
        kept_a = {h for h, _ in fp.winnow(fp.kgram_hashes(a))}
        kept_b = {h for h, _ in fp.winnow(fp.kgram_hashes(b))}
        assert kept_a & kept_b


@pytest.mark.parametrize("copied", [49, 100, 150, 200])
def test_longest_shared_span_measures_the_copy_exactly(copied: int) -> None:
    source = fp.normalize(CODE).text
    query = "zzzzzzzzzz" + source[20 : 20 + copied] + "qqqqqqqqqq"
    span = fp.longest_shared_span(query, source)
    assert span.length == copied
    assert span.candidate_start == 20 and span.query_start == 10


def test_no_span_below_k() -> None:
    assert fp.longest_shared_span("abc" * 5, "xyz" * 20).length == 0


def test_store_keeps_fingerprints_per_chunk_and_drops_them_with_the_chunk(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.db")
    store.ensure_embedder("model", 8)
    chunks = Chunker().chunk("lib/rows.py", CODE)
    with store.transaction():
        store.write_file(StoredFile("lib/rows.py", "h", 1, 1), "python", chunks, [bytes(32)] * len(chunks),
                         license="GPL-3.0-only")
    assert store.count("chunk_fingerprints") > 0
    query = fp.normalize("x = 1\n" + CODE[40:260]).text
    hits = store.fingerprint_matches(fp.kgram_hashes(query))
    assert hits and hits[0].path == "lib/rows.py" and hits[0].license == "GPL-3.0-only"
    assert store.file_license("lib/rows.py") == "GPL-3.0-only"
    with store.transaction():
        store.delete_file("lib/rows.py")
    assert store.count("chunk_fingerprints") == 0
    store.close()


def test_backfill_fingerprints_chunks_stored_before_they_were_kept(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.db")
    store.ensure_embedder("model", 8)
    chunks = Chunker().chunk("a.py", CODE)
    with store.transaction():
        store.write_file(StoredFile("a.py", "h", 1, 1), "python", chunks, [bytes(32)] * len(chunks))
        store.conn.execute("DELETE FROM chunk_fingerprints")
    with store.transaction():
        assert store.backfill_guard_data(lambda path, head: "MIT") == len(chunks)
    assert store.count("chunk_fingerprints") > 0 and store.file_license("a.py") == "MIT"
    with store.transaction():
        assert store.backfill_guard_data(lambda path, head: "MIT") == 0  # done once per fingerprint version
    store.close()

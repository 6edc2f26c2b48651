"""The ONNX Runtime int8 backend: a real local export of the bundled MiniLM, compared with PyTorch."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures_code import GEOMETRY, HTTP

from copilot_index.indexer.chunker import Chunker
from copilot_index.indexer.config import DEFAULT_EMBEDDER
from copilot_index.indexer.embedder import Embedder, EmbedderNotFoundError, resolve_embedder_path
from copilot_index.indexer.onnx_backend import INFO_FILE, INT8_FILE, _tokenizer, export_key, measure

QUERIES = ["area of a circle", "split a raw http header line", "retry a failed request later"]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data") / "embedders" / "onnx"


@pytest.fixture(scope="module")
def onnx_embedder(onnx_dir: Path) -> Embedder:
    """Exported once for the module (a few seconds), like the first indexing run with the backend."""
    embedder = Embedder(backend="onnx", onnx_dir=onnx_dir)
    assert embedder.backend == "onnx"
    return embedder


@pytest.fixture(scope="module")
def chunk_texts() -> list[str]:
    chunker = Chunker()
    chunks = chunker.chunk("geometry.py", GEOMETRY) + chunker.chunk("http.py", HTTP)
    return [c.embedding_text() for c in chunks] + QUERIES


def test_onnx_embeddings_are_close_to_pytorch(onnx_embedder: Embedder, embedder: Embedder, chunk_texts: list[str]) -> None:
    onnx = onnx_embedder.embed(chunk_texts)
    reference = embedder.embed(chunk_texts)
    assert onnx.dtype == np.float32 and onnx.shape == reference.shape == (len(chunk_texts), 384)
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    cosines = (onnx * reference).sum(axis=1)
    assert cosines.min() >= 0.99, cosines


def test_onnx_ranks_code_like_pytorch(onnx_embedder: Embedder, embedder: Embedder, chunk_texts: list[str]) -> None:
    code = chunk_texts[: -len(QUERIES)]
    for query in QUERIES:
        expected = int(np.argmax(embedder.embed(code) @ embedder.embed_query(query)))
        assert int(np.argmax(onnx_embedder.embed(code) @ onnx_embedder.embed_query(query))) == expected


def test_order_and_batching_do_not_change_vectors(onnx_embedder: Embedder, chunk_texts: list[str]) -> None:
    together = onnx_embedder.embed(chunk_texts)
    alone = np.stack([onnx_embedder.embed_query(text) for text in reversed(chunk_texts)])[::-1]
    assert np.allclose(together, alone, atol=1e-4)
    assert onnx_embedder.embed([]).shape == (0, 384)


def test_the_export_lives_in_the_data_dir_and_is_reused(onnx_embedder: Embedder, onnx_dir: Path) -> None:
    [folder] = [p for p in onnx_dir.iterdir() if not p.name.startswith(".")]
    assert (folder / INT8_FILE).is_file() and json.loads((folder / INFO_FILE).read_text())["dimension"] == 384
    stamp = (folder / INT8_FILE).stat().st_mtime_ns
    again = Embedder(backend="onnx", onnx_dir=onnx_dir)
    assert again.dimension == 384 and again.embed(["x"]).shape == (1, 384)
    assert (folder / INT8_FILE).stat().st_mtime_ns == stamp, "a second embedder must not export again"
    assert folder.name == export_key(resolve_embedder_path(DEFAULT_EMBEDDER))


def test_the_exports_tokenizer_gives_transformers_ids_without_importing_it(onnx_embedder: Embedder, onnx_dir: Path,
                                                                           chunk_texts: list[str], tmp_path: Path) -> None:
    """Searches tokenize with the export's tokenizer.json through `tokenizers` (transformers and torch take seconds to
    import); a model saved without that file goes through transformers' AutoTokenizer. Both give the same ids,
    truncated alike, for code, prose, non-Latin text and texts past the length."""
    [folder] = [p for p in onnx_dir.iterdir() if not p.name.startswith(".")]
    vocab_only = tmp_path / "vocab-only"  # the same WordPiece vocabulary as a vocab.txt, as older models ship it
    vocab_only.mkdir()
    vocab = json.loads((folder / "tokenizer.json").read_text("utf-8"))["model"]["vocab"]
    (vocab_only / "vocab.txt").write_text("".join(f"{piece}\n" for piece in sorted(vocab, key=vocab.get)), "utf-8")
    (vocab_only / "tokenizer_config.json").write_bytes((folder / "tokenizer_config.json").read_bytes())
    texts = [*chunk_texts, "", "Ünïcödé naïve café, 中文字符 and 🎉", "  tabs\t and\n\nblank lines ",
             " ".join(["word"] * 600), "x" * 5000]
    for length in (16, 256):
        fast, slow = _tokenizer(folder, length), _tokenizer(vocab_only, length)
        for text in texts:
            a, b = fast(text), slow(text)
            assert set(a) >= {"input_ids", "attention_mask", "token_type_ids"} and a["input_ids"].shape[1] <= length
            assert all(np.array_equal(a[name], b[name]) for name in b), text[:80]


@pytest.mark.parametrize("recorded", ["onnx", "torch"])
def test_auto_follows_the_recorded_measurement(onnx_embedder: Embedder, onnx_dir: Path, recorded: str) -> None:
    [folder] = [p for p in onnx_dir.iterdir() if not p.name.startswith(".")]
    (folder / "decision-256.json").write_text(json.dumps({"backend": recorded, "speedup": 0.0, "rounds": 3}))
    assert Embedder(backend="auto", onnx_dir=onnx_dir).backend == recorded


def test_a_decision_taken_in_one_round_by_an_older_release_is_measured_again(
    onnx_embedder: Embedder, onnx_dir: Path
) -> None:
    [folder] = [p for p in onnx_dir.iterdir() if not p.name.startswith(".")]
    decision = folder / "decision-32.json"
    decision.write_text(json.dumps({"backend": "torch", "speedup": 0.0}))  # no "rounds": one busy round
    assert Embedder(backend="auto", onnx_dir=onnx_dir, max_seq_length=32).backend in ("onnx", "torch")
    recorded = json.loads(decision.read_text())
    assert recorded["rounds"] == 3 and recorded["speedup"] > 0


def test_auto_measures_once_and_records_its_choice(onnx_embedder: Embedder, onnx_dir: Path) -> None:
    [folder] = [p for p in onnx_dir.iterdir() if not p.name.startswith(".")]
    decision = folder / "decision-64.json"
    chosen = Embedder(backend="auto", onnx_dir=onnx_dir, max_seq_length=64).backend
    recorded = json.loads(decision.read_text())
    assert recorded["backend"] == chosen
    assert recorded["mean_cosine"] >= 0.99 or chosen == "torch"
    assert recorded["speedup"] > 0 and recorded["onnx_texts_per_second"] > 0


class _Timed:
    """A backend of known speed: each encode sleeps `seconds`, or `burst` on the call numbered `burst_at`."""

    def __init__(self, seconds: float, burst_at: int = -1, burst: float = 0.0) -> None:
        self.seconds, self.burst_at, self.burst, self.calls, self.max_seq_length = seconds, burst_at, burst, 0, 0

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.calls += 1
        time.sleep(self.burst if self.calls == self.burst_at else self.seconds)
        return np.tile(np.eye(1, 4, dtype=np.float32), (len(texts), 1))


def test_a_burst_of_load_during_one_round_does_not_pick_the_slower_backend() -> None:
    # ONNX twice as fast, but the machine was busy during its first timed round (call 2; call 1 warms up)
    decision = measure(_Timed(0.04), _Timed(0.02, burst_at=2, burst=0.3), 256, texts=["x"] * 8)  # type: ignore[arg-type]
    assert decision["backend"] == "onnx" and decision["rounds"] == 3 and 1.5 < decision["speedup"] < 2.5
    slow = measure(_Timed(0.02), _Timed(0.04), 256, texts=["x"] * 8)  # type: ignore[arg-type]
    assert slow["backend"] == "torch"


def test_a_failed_export_falls_back_to_pytorch_in_auto_and_is_an_error_in_onnx(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING):
        assert Embedder(backend="auto", onnx_dir=blocked).backend == "torch"
    assert "using PyTorch" in caplog.text
    with pytest.raises(EmbedderNotFoundError, match="could not be exported to ONNX"):
        Embedder(backend="onnx", onnx_dir=blocked).embed(["x"])
    assert Embedder(backend="auto").backend == "torch", "without a folder to export into, PyTorch is used"


@pytest.mark.parametrize("damaged", ["tokenizer.json", INT8_FILE])
def test_a_damaged_export_is_made_again_with_one_sentence(onnx_dir: Path, onnx_embedder: Embedder, tmp_path: Path,
                                                          chunk_texts: list[str], damaged: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """A file of the export cut short (a full disk, a crash of something else writing there): the next embedder
    exports the model again and embeds as before; the log says so in one line, without a traceback."""
    [folder] = [p for p in onnx_dir.iterdir() if not p.name.startswith(".")]
    copy = tmp_path / "onnx" / folder.name
    shutil.copytree(folder, copy)
    (copy / damaged).write_bytes((copy / damaged).read_bytes()[:1000])
    with caplog.at_level(logging.WARNING):
        again = Embedder(backend="onnx", onnx_dir=tmp_path / "onnx")
        vectors = again.embed(chunk_texts)
    assert again.backend == "onnx" and np.allclose(vectors, onnx_embedder.embed(chunk_texts), atol=1e-5)
    assert (copy / damaged).stat().st_size > 1000
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "cannot be read" in warning.getMessage() and "exporting the embedder again" in warning.getMessage()
    assert warning.exc_info is None and "\n" not in warning.getMessage()


def test_onnx_runtime_leaves_no_telemetry_behind(tmp_path: Path, onnx_dir: Path, onnx_embedder: Embedder) -> None:
    """ONNX Runtime queues telemetry (a device id, a "ProcessInfo" event) under the user's cache on import;
    the product's import of it must leave nothing there, and print nothing about it."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "COPILOT_INDEX_CACHE")}
    env["HOME"] = str(home)
    script = (
        "from pathlib import Path\n"
        "from copilot_index.indexer.embedder import Embedder\n"
        f"e = Embedder(backend='onnx', onnx_dir=Path({str(onnx_dir)!r}))\n"
        "assert e.backend == 'onnx' and len(e.embed(['area of a circle'])[0]) == 384\n"
    )
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    written = [p.relative_to(home).as_posix() for p in home.rglob("*")]
    assert not any("Microsoft" in p or "onnxruntime" in p.lower() for p in written), written
    assert "telemetry" not in run.stderr

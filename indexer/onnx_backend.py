"""ONNX Runtime backend for the embedder: a local export of the sentence-transformers model, int8-quantized.

The whole sentence-transformers pipeline (transformer, pooling, any dense/normalize modules) is traced
into one ONNX graph whose output is the sentence embedding, then the weight matrices are quantized to
int8 per channel (dynamic quantization: activations are quantized on the fly, which CPUs with VNNI run
fast). Exports live in `<onnx_dir>/<key>/`, keyed by the model folder and its weights, never in the
working tree; each records the folder it came from, and a new export deletes those whose folder is gone or holds
other weights now (`prune_exports`). `choose_backend` measures PyTorch and ONNX (best of three rounds each) on a
fixed probe and records the decision next to the export, so later runs decide instantly.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FP32_FILE = "model.onnx"
INT8_FILE = "model_qint8.onnx"
INFO_FILE = "export.json"
EXPORT_VERSION = 1
MIN_SPEEDUP = 1.2
"""ONNX is chosen automatically only when it is at least this much faster on the probe..."""
MIN_MEAN_COSINE = 0.99
"""...and its probe embeddings keep at least this mean cosine similarity to PyTorch's."""


def export_key(model_path: str) -> str:
    """A folder name for a model's export: changes when the model folder or its weights change."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}:{model_path}".encode())
    folder = Path(model_path)
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".safetensors", ".bin", ".json"):
                stat = path.stat()
                digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"{Path(model_path).name or 'model'}-{digest.hexdigest()[:16]}"


_IMPORT_LOCK = threading.Lock()


def import_onnxruntime() -> Any:
    """ONNX Runtime, imported so that its telemetry keeps nothing and sends nothing.

    On import, ONNX Runtime (1.2x and later on Linux) starts a telemetry client that queues a "ProcessInfo"
    event and a device id under `$XDG_CACHE_HOME/Microsoft/DeveloperTools/` before anyone can switch it off.
    Here it is imported with that cache in a private temporary folder, deleted at once, so nothing it writes
    outlives the process; then telemetry events are switched off. Every import of onnxruntime in the product
    goes through here.
    """
    with _IMPORT_LOCK:
        if "onnxruntime" not in sys.modules:
            saved = os.environ.get("XDG_CACHE_HOME")
            scratch = tempfile.mkdtemp(prefix="copilot-index-ort-")
            os.environ["XDG_CACHE_HOME"] = scratch
            try:
                import onnxruntime  # noqa: F401
            finally:
                if saved is None:
                    os.environ.pop("XDG_CACHE_HOME", None)
                else:
                    os.environ["XDG_CACHE_HOME"] = saved
                shutil.rmtree(scratch, ignore_errors=True)
        import onnxruntime as ort

        ort.disable_telemetry_events()
        return ort


class OnnxEncoder:
    """Embeds texts with an int8 ONNX export through ONNX Runtime; same contract as the PyTorch path."""

    def __init__(self, folder: Path, max_seq_length: int) -> None:
        ort = import_onnxruntime()
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        self.folder = folder
        self.dimension = int(info["dimension"])
        self.input_names: list[str] = list(info["input_names"])
        self.max_seq_length = min(max_seq_length, int(info["max_seq_length"]))
        self.tokenize = _tokenizer(folder, self.max_seq_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, os.cpu_count() or 1)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(folder / INT8_FILE), options, providers=["CPUExecutionProvider"])

    @classmethod
    def for_model(
        cls, load_model: Callable[[], Any], model_path: str, onnx_dir: Path, max_seq_length: int
    ) -> OnnxEncoder:
        """The encoder for a model, exporting it first if `onnx_dir` has no export of it yet, or again if its
        export is damaged (a file cut short or overwritten: the export is a cache of the model, made again)."""
        folder = onnx_dir / export_key(model_path)
        if (folder / INFO_FILE).is_file():
            try:
                return _open_encoder(folder, max_seq_length)
            except Exception as exc:  # ONNX Runtime and tokenizers raise plain exceptions for a damaged file
                log.warning("The ONNX export %s cannot be read (%s); exporting the embedder again.", folder,
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                shutil.rmtree(folder, ignore_errors=True)
        export(load_model(), folder, model_path)
        prune_exports(onnx_dir)
        return _open_encoder(folder, max_seq_length)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 embeddings, one text per run.

        Dynamic quantization scales activations per run, so in a batch a text's vector would depend on
        its batch-mates (and on their padding); one text per run keeps every vector deterministic, needs
        no padding, and is as fast on CPU.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            encoded = self.tokenize(text)
            feed = {name: encoded[name] for name in self.input_names}
            vector = self.session.run(None, feed)[0][0]
            out[row] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return out


def _tokenizer(folder: Path, max_length: int) -> Callable[[str], dict[str, np.ndarray]]:
    """The export's tokenizer as a function of one text: its `tokenizer.json` through the `tokenizers` library
    (the same ids as transformers' fast tokenizer, without importing transformers and torch, seconds of a
    search's start), else transformers' AutoTokenizer for a model whose tokenizer has no such file."""
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(folder / "tokenizer.json"))
        fast.no_padding()
        fast.enable_truncation(max_length=max_length)

        def encode_fast(text: str) -> dict[str, np.ndarray]:
            done = fast.encode(text)
            return {name: np.asarray([ids], dtype=np.int64) for name, ids in
                    (("input_ids", done.ids), ("attention_mask", done.attention_mask), ("token_type_ids", done.type_ids))}

        return encode_fast
    from transformers import AutoTokenizer

    slow = AutoTokenizer.from_pretrained(str(folder))

    def encode_slow(text: str) -> dict[str, np.ndarray]:
        done = slow([text], truncation=True, max_length=max_length, return_tensors="np")
        return {name: np.asarray(value, dtype=np.int64) for name, value in done.items()}

    return encode_slow


@functools.lru_cache(maxsize=4)
def _open_encoder(folder: Path, max_seq_length: int) -> OnnxEncoder:
    """One ONNX Runtime session per export and length in a process, shared by every Embedder (each
    indexing run makes a new one), as the PyTorch models are."""
    return OnnxEncoder(folder, max_seq_length)


def prune_exports(onnx_dir: Path) -> list[str]:
    """Delete the exports of local model folders that are gone, or whose weights changed since (every trained
    embedder's export is ~60 MB, and nothing else would ever remove it); returns their names. Exports that do not
    record a local folder (a hub name, or made before the folder was recorded) are left alone."""
    removed: list[str] = []
    for folder in sorted(onnx_dir.iterdir()) if onnx_dir.is_dir() else []:
        if folder.name.startswith("."):
            continue  # an export being written
        try:
            source = json.loads((folder / INFO_FILE).read_text(encoding="utf-8")).get("model_path")
        except (OSError, ValueError, AttributeError):
            continue
        if not isinstance(source, str) or not Path(source).is_absolute():
            continue
        if Path(source).is_dir() and export_key(source) == folder.name:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    if removed:
        log.info("deleted %d ONNX exports of models that are gone or changed: %s", len(removed), ", ".join(removed))
    return removed


def export(model: Any, folder: Path, model_path: str | None = None) -> None:
    """Trace a SentenceTransformer into `folder` as int8 ONNX plus its tokenizer (atomically); `model_path`, the
    folder or name it was loaded from, is recorded for `prune_exports`."""
    import torch
    import_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        tokenizer = model.tokenizer
        names = [n for n in tokenizer.model_input_names if n in ("input_ids", "attention_mask", "token_type_ids")]
        sample = tokenizer(["def example(a, b):\n    return a + b", "x"], padding=True, return_tensors="pt")

        class SentenceEmbedding(torch.nn.Module):
            """Positional tensors in, the sentence-transformers `sentence_embedding` out (traceable)."""

            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *tensors: Any) -> Any:
                return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

        wrapper = SentenceEmbedding().eval()
        started = time.monotonic()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                tuple(sample[n] for n in names),
                str(work / FP32_FILE),
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "sentence_embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        logging.disable(logging.WARNING)  # onnxruntime advises pre-processing on the root logger
        try:
            quantize_dynamic(
                str(work / FP32_FILE), str(work / INT8_FILE), weight_type=QuantType.QInt8,
                per_channel=True, op_types_to_quantize=["MatMul"],
            )
        finally:
            logging.disable(logging.NOTSET)
        (work / FP32_FILE).unlink()
        tokenizer.save_pretrained(str(work))
        info = {
            "export_version": EXPORT_VERSION,
            "dimension": int(model.get_embedding_dimension()),
            "max_seq_length": int(model.max_seq_length or 512),
            "input_names": names,
            **({"model_path": model_path} if model_path else {}),
        }
        (work / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        work.chmod(0o755)  # mkdtemp makes it private; the export is an ordinary data-dir folder
        try:
            os.rename(work, folder)
        except OSError:  # another process finished the same export first; theirs is as good
            shutil.rmtree(work, ignore_errors=True)
        log.info("exported %s to ONNX int8 in %.1fs", folder.name, time.monotonic() - started)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def choose_backend(
    load_model: Callable[[], Any], model_path: str, onnx_dir: Path, max_seq_length: int
) -> tuple[str, OnnxEncoder | None]:
    """("onnx", encoder) when the export is faster and faithful on the probe, else ("torch", None)."""
    encoder = OnnxEncoder.for_model(load_model, model_path, onnx_dir, max_seq_length)
    decision_file = encoder.folder / f"decision-{max_seq_length}.json"
    try:
        decision = json.loads(decision_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        decision = {}
    if not isinstance(decision, dict) or not decision.get("rounds"):
        # none yet, unreadable, or taken in one round by an older release (a busy moment could pick PyTorch)
        decision = measure(load_model(), encoder, max_seq_length)
        decision_file.write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    if decision.get("backend") == "onnx":
        return "onnx", encoder
    return "torch", None


def measure(
    model: Any, encoder: OnnxEncoder, max_seq_length: int, texts: list[str] | None = None, rounds: int = 3
) -> dict[str, Any]:
    """Throughput of both backends and the cosine between their embeddings on the same texts.

    Each backend encodes the probe `rounds` times, in turns, and its fastest round counts: a burst of other
    work on a shared machine slows one round, not the choice (one round each once picked PyTorch on a busy
    machine that ONNX ran 2.6x faster on when quiet, and search results differed with the backend).
    """
    texts = texts or probe_texts()
    saved = model.max_seq_length
    model.max_seq_length = max_seq_length
    torch_times: list[float] = []
    onnx_times: list[float] = []
    try:
        model.encode(texts[:8], normalize_embeddings=True, show_progress_bar=False)  # warm-up
        encoder.encode(texts[:8])
        for _ in range(max(1, rounds)):
            started = time.perf_counter()
            reference = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
            torch_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            onnx_vectors = encoder.encode(texts)
            onnx_times.append(time.perf_counter() - started)
    finally:
        model.max_seq_length = saved
    torch_seconds, onnx_seconds = min(torch_times), min(onnx_times)
    cosines = (np.asarray(reference, dtype=np.float32) * onnx_vectors).sum(axis=1)
    speedup = torch_seconds / max(onnx_seconds, 1e-9)
    faithful = float(cosines.mean()) >= MIN_MEAN_COSINE
    return {
        "torch_texts_per_second": len(texts) / torch_seconds,
        "onnx_texts_per_second": len(texts) / onnx_seconds,
        "speedup": speedup,
        "rounds": len(torch_times),
        "mean_cosine": float(cosines.mean()),
        "min_cosine": float(cosines.min()),
        "backend": "onnx" if faithful and speedup >= MIN_SPEEDUP else "torch",
    }


@functools.cache
def probe_texts(count: int = 64, size: int = 700) -> list[str]:
    """Code-like texts of chunk size from a standard-library module (the same on every machine)."""
    import json.decoder as sample_module

    source = inspect.getsource(sample_module) * 8
    return [f"# json/decoder.py\n{source[i * size : (i + 1) * size]}" for i in range(count)]

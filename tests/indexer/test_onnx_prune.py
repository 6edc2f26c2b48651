"""The per-user ONNX export cache keeps only exports of model folders that still exist with the same weights:
every trained embedder (and every test's) would otherwise leave a ~60 MB export behind for good."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from copilot_index.indexer.config import DEFAULT_EMBEDDER
from copilot_index.indexer.embedder import Embedder, resolve_embedder_path
from copilot_index.indexer.onnx_backend import INFO_FILE, export_key


def _export(model: Path, onnx_dir: Path) -> Path:
    embedder = Embedder(str(model), backend="onnx", onnx_dir=onnx_dir)
    assert embedder.backend == "onnx"
    return onnx_dir / export_key(str(model))


def _recorded_export(onnx_dir: Path, name: str, info: dict[str, object]) -> Path:
    """An export folder as `prune_exports` reads it (only its export.json counts)."""
    folder = onnx_dir / name
    folder.mkdir(parents=True)
    (folder / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")
    return folder


def test_a_new_export_deletes_those_of_folders_gone_or_retrained(tmp_path: Path) -> None:
    onnx_dir = tmp_path / "onnx"
    model, gone = tmp_path / "trained" / "model", tmp_path / "deleted" / "model"
    shutil.copytree(resolve_embedder_path(DEFAULT_EMBEDDER), model)
    first_export = _export(model, onnx_dir)
    assert json.loads((first_export / INFO_FILE).read_text())["model_path"] == str(model)
    of_gone = _recorded_export(onnx_dir, "model-0123", {"model_path": str(gone)})  # its data folder was deleted
    kept = [
        _recorded_export(onnx_dir, "hub-model-0123", {"model_path": "some-org/some-model"}),  # nothing says it is gone
        _recorded_export(onnx_dir, "older-0123", {"dimension": 384}),  # from before the folder was recorded
        _recorded_export(onnx_dir, ".export-abc", {"model_path": str(gone)}),  # being written
    ]

    weights = next(model.glob("*.safetensors"))  # retrained in place: new weights behind the same folder
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    second_export = _export(model, onnx_dir)
    assert second_export != first_export and second_export.is_dir()
    assert not first_export.exists() and not of_gone.exists()
    assert all(folder.is_dir() for folder in kept)

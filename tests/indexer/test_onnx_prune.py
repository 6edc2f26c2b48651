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


def _fake_export(onnx_dir: Path, name: str, info: dict[str, object]) -> Path:
    folder = onnx_dir / name
    folder.mkdir(parents=True)
    (folder / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")
    return folder


def test_a_new_export_deletes_those_of_folders_gone_or_retrained(tmp_path: Path) -> None:
    onnx_dir = tmp_path / "onnx"
    first, second = tmp_path / "first" / "model", tmp_path / "second" / "model"
    shutil.copytree(resolve_embedder_path(DEFAULT_EMBEDDER), first)
    shutil.copytree(resolve_embedder_path(DEFAULT_EMBEDDER), second)
    first_export = _export(first, onnx_dir)
    assert json.loads((first_export / INFO_FILE).read_text())["model_path"] == str(first)
    kept = [
        _fake_export(onnx_dir, "hub-model-0123", {"model_path": "some-org/some-model"}),  # nothing says it is gone
        _fake_export(onnx_dir, "older-0123", {"dimension": 384}),  # from before the folder was recorded
        _fake_export(onnx_dir, ".export-abc", {"model_path": str(tmp_path / "nowhere")}),  # being written
    ]
    shutil.rmtree(first.parent)
    second_export = _export(second, onnx_dir)
    assert not first_export.exists()
    assert second_export.is_dir() and all(folder.is_dir() for folder in kept)

    weights = next(second.glob("*.safetensors"))  # retrained in place: new weights behind the same folder
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    retrained_export = _export(second, onnx_dir)
    assert retrained_export != second_export and retrained_export.is_dir() and not second_export.exists()
    assert all(folder.is_dir() for folder in kept)

"""A small Python and Go project to train and evaluate adapters on, and the runtime that wires in the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures_code import GEOMETRY, HTTP, STORAGE_GO

from copilot_index.indexer import DataDir, Index, resolve_repo
from copilot_index.server.completion.adapters import EngineRuntime
from copilot_index.server.completion.config import CompletionConfig


def write_project(repo: Any) -> None:
    """Ten geometry modules, an HTTP client and a Go file, committed."""
    for i in range(10):
        repo.write(f"pkg/geo_{i}.py", GEOMETRY.replace("circle_area", f"circle_area_{i}"))
    repo.write("pkg/http.py", HTTP)
    repo.write("pkg/storage.go", STORAGE_GO)
    repo.commit("project")


def open_index(root: Path, data_dir: Path) -> Index:
    return Index(resolve_repo(root), DataDir(data_dir))


def engine_runtime(index: Index, model_dir: Path, **completion: Any) -> EngineRuntime:
    """The server's runtime for `index`, completing with the model in `model_dir`."""
    return EngineRuntime(index, CompletionConfig(model=str(model_dir), **completion))

"""Commands that load no model start without the model libraries: `status`, `check` (the pre-commit hook's) and
`search` with the ONNX embedder import neither torch, transformers nor llama.cpp, seconds of each run on a 2-core
machine. Each command runs in a fresh interpreter, on a real repository indexed by the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepo
from fixtures_code import GEOMETRY, HTTP

from copilot_index.indexer import user_cache

MODEL_LIBRARIES = ("torch", "transformers", "llama_cpp", "sentence_transformers", "peft")
PROBE = f"""
import json, sys
from copilot_index.server.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write("\\nIMPORTED " + json.dumps([m for m in {MODEL_LIBRARIES!r} if m in sys.modules]) + "\\n")
sys.exit(code)
"""


@pytest.fixture
def indexed(repo: GitRepo, tmp_path: Path) -> dict[str, str]:
    """The environment of a user whose index of `repo` uses the ONNX embedder."""
    repo.write("geometry.py", GEOMETRY)
    repo.write("net/http.py", HTTP)
    repo.commit("initial")
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[index]\nembedder_backend = "onnx"\n', encoding="utf-8")
    env = {**os.environ, "COPILOT_INDEX_HOME": str(tmp_path / "data"), "COPILOT_INDEX_CONFIG_HOME": str(config),
           "COPILOT_INDEX_CACHE": str(user_cache())}
    done = subprocess.run([sys.executable, "-m", "copilot_index.server.cli", "index", "--json"], cwd=repo.root,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chunks_embedded"] > 0
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    marker = done.stderr.rsplit("IMPORTED ", 1)
    assert len(marker) == 2, done.stderr
    return done.returncode, done.stdout, json.loads(marker[1])


def test_status_check_and_search_import_no_model_library(repo: GitRepo, indexed: dict[str, str]) -> None:
    code, out, imported = _run(["status", "--json"], repo.root, indexed)
    assert code == 0 and json.loads(out)["files"] == 2 and imported == []

    repo.write("net/client.py", "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    repo.commit("a shell call")
    code, out, imported = _run(["check", "--all", "--json"], repo.root, indexed)
    assert code == 1 and json.loads(out)["violations"] and imported == []

    code, out, imported = _run(["search", "area of a circle", "--json"], repo.root, indexed)
    assert code == 0 and imported == []
    assert json.loads(out)["results"][0]["symbol"] == "circle_area"


def test_complete_still_loads_its_model(repo: GitRepo, indexed: dict[str, str]) -> None:
    """The import moved into `complete` itself: the command still finds and runs the model."""
    request = {"path": "geometry.py", "text": "def double(x):\n    return ", "line": 1, "character": 11}
    done = subprocess.run([sys.executable, "-c", PROBE, "complete", "--json", "-"], cwd=repo.root, env=indexed,
                          input=json.dumps(request) + "\n", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "completion" in json.loads(done.stdout.splitlines()[0])
    assert "IMPORTED []" not in done.stderr

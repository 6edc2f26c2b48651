"""The OpenAI-compatible HTTP backend against a real `transformers serve` on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from recording_server import RecordingServer

from copilot_index.indexer import DataDir, Index
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.prompt import assemble
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.model.backend import BackendError
from copilot_index.server.model.backends import OpenAIBackend, TransformersBackend
from copilot_index.server.model.templates import template_named


def _index(root, data_dir) -> Index:  # type: ignore[no-untyped-def]
    return Index(resolve_repo(root), DataDir(data_dir))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served_model(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    port = _free_port()
    exe = shutil.which("transformers", path=str(Path(__import__("sys").executable).parent))
    assert exe, "the transformers CLI (transformers[serving]) is a dev dependency"
    proc = subprocess.Popen(
        [exe, "serve", str(tiny_model_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("transformers serve did not start within 120 s")
    yield url, str(tiny_model_dir)
    proc.terminate()
    proc.wait(timeout=30)


def test_remote_completion_through_the_engine(served_model, repo, data_dir):
    url, model = served_model
    repo.write("a.py", "x = 1\n")
    config = CompletionConfig(backend="openai", endpoint=url, model=model, template="copilot-index-default")
    engine = CompletionEngine(_index(repo.root, data_dir), config)
    assert engine.describe()["backend"].startswith("openai:")
    result = engine.complete(CompletionRequest("a.py", "def add(a, b):\n    return ", 1, 11))
    assert "\n" not in result.completion
    assert "<|" not in result.completion


def test_remote_and_local_greedy_agree(served_model, tiny_model_dir):
    url, model = served_model
    local = TransformersBackend(str(tiny_model_dir))
    remote = OpenAIBackend(url, model, template_named("copilot-index-default"))
    prompt = assemble(local.template, "a.py", "python", "import os\n\ndef main(", ")\n", [], 200, local.count_tokens)
    mine = local.generate(prompt, max_new_tokens=6, single_line=True, cancel=None)
    theirs = remote.generate(prompt, max_new_tokens=6, single_line=True, cancel=None)
    assert theirs.text and (mine.text.startswith(theirs.text) or theirs.text.startswith(mine.text))


def test_unreachable_server_is_one_sentence():
    backend = OpenAIBackend(f"http://127.0.0.1:{_free_port()}", "m", template_named("qwen2.5-coder"), timeout=2)
    prompt = assemble(backend.template, "a.py", "python", "x = ", "", [], 100, backend.count_tokens)
    with pytest.raises(BackendError, match="did not answer"):
        backend.generate(prompt, max_new_tokens=4, single_line=True, cancel=None)


def test_a_remote_backend_never_receives_a_secret_of_the_buffer(repo, data_dir):
    """The open buffer is not in the index, so nobody redacted it: the engine does, before a prompt leaves."""
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY93"
    document = f'AWS_SECRET_ACCESS_KEY = "{key}"\n\n\ndef area(r):\n    return '
    repo.write("app.py", document)
    with RecordingServer("3.14 * r * r") as server:
        config = CompletionConfig(backend="openai", endpoint=server.url, model="m", template="copilot-index-default")
        engine = CompletionEngine(_index(repo.root, data_dir), config)
        result = engine.complete(CompletionRequest("app.py", document, 4, 11), retrieval=False)
    assert result.completion == "3.14 * r * r"
    assert len(server.requests) == 1 and "def area(r)" in json.dumps(server.requests[0][1])
    assert key not in json.dumps(server.requests[0][1]) and "wJalrXUtnFEMI" not in json.dumps(server.requests)

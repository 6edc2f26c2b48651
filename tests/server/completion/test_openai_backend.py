"""The OpenAI-compatible HTTP backend against a real `transformers serve` on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.completion.backends import BackendError, OpenAIBackend, TransformersBackend
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.prompt import assemble
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.model.templates import template_named


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
    engine = CompletionEngine(resolve_repo(repo.root), data_dir, config)
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

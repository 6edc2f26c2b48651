"""The `llama-server` backend against llama.cpp's own server, on 127.0.0.1.

`make test` builds `llama-server` from the llama.cpp sources vendored in llama-cpp-python's sdist (the same
llama.cpp as the in-process backend) into the virtual environment. The model is the project's own default
model written as a GGUF (tests/gguf_model.py): it has fill-in-the-middle tokens, which `/infill` needs.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cancellation import CancelAfter
from gguf_model import write_gguf  # the shipped default model written as a GGUF
from loopback import free_port, served

from copilot_index.server.completion.prompt import format_context
from copilot_index.server.model.backend import BackendError, Prompt, Snippet
from copilot_index.server.model.local_servers import LlamaServerBackend
from copilot_index.server.model.templates import template_named

LLAMA_SERVER = Path(sys.executable).parent / "llama-server"
DEFAULT = template_named("copilot-index-default")
SNIPPET = Snippet("shop/prices.py", 1, 2, "def price(item):\n    return item.cost * 1.2\n", 0.9)
PREFIX = "class Cart:\n    def total(self):\n        return sum("
SUFFIX = ")\n\n    def clear(self):\n        self.items = []\n"


def fim_prompt() -> Prompt:
    context = format_context(DEFAULT, "shop/cart.py", "python", (SNIPPET,))
    return Prompt(context + PREFIX, SUFFIX, DEFAULT.prompt(context + PREFIX, SUFFIX), (SNIPPET,), True, context)


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return dict(json.loads(answer.read()))


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert LLAMA_SERVER.is_file(), f"{LLAMA_SERVER} is missing: run `make llama-server` (make test builds it)"
    model = tmp_path_factory.mktemp("llama-server") / "default.gguf"
    write_gguf(model)
    port = free_port()
    # One slot of the model's 512 tokens, and a batch of half that: llama-server gives `input_extra` (the retrieved
    # snippets) only what a slot's context leaves beyond one batch, and nothing at its defaults for so small a model.
    command = [str(LLAMA_SERVER), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", "512",
               "-b", "256", "-np", "1", "-t", "1", "--no-webui", "--log-disable"]
    url = f"http://127.0.0.1:{port}"
    with served(command, f"{url}/health", lambda answer: answer.status == 200, seconds=60):
        yield url


def test_infill_reaches_the_model_as_a_fill_in_the_middle_prompt(llama_server: str) -> None:
    backend = LlamaServerBackend(llama_server, DEFAULT)
    body = backend.infill_body(fim_prompt(), 8, True) | {"stream": False, "return_tokens": True}
    answer = post(f"{llama_server}/infill", body)
    # The server laid out what the backend sent with the model's own FIM tokens: the snippet first, then the
    # prefix and the suffix; and it generated greedily from there.
    prompt = answer.get("prompt", "")
    assert "<|fim_prefix|>" in prompt and "<|fim_suffix|>" in prompt and "<|fim_middle|>" in prompt
    assert prompt.index("return item.cost * 1.2") < prompt.index("def total(self):") < prompt.index("self.items = []")
    assert answer["tokens_predicted"] >= 1 and answer["stop_type"] in {"eos", "word", "limit"}


def test_the_backend_completes_through_infill(llama_server: str) -> None:
    backend = LlamaServerBackend(llama_server, DEFAULT)
    first = backend.generate(fim_prompt(), max_new_tokens=12, single_line=True, cancel=None)
    assert not backend.openai_only  # /infill answered: no fallback to /v1/completions
    assert first.stop_reason in {"stop_token", "max_tokens"} and "\n" not in first.text
    assert not any(marker in first.text for marker in DEFAULT.sentinels())
    again = backend.generate(fim_prompt(), max_new_tokens=12, single_line=True, cancel=None)
    assert again.text == first.text  # greedy, and the server's prompt cache gives the same answer
    assert first.confidence is not None and 0.0 < first.confidence <= 1.0  # from the tokens' log-probabilities
    assert again.confidence == pytest.approx(first.confidence, rel=1e-3)
    plain = Prompt("def add(a, b):\n    return", "", "def add(a, b):\n    return", (), False)
    done = backend.generate(plain, max_new_tokens=8, single_line=True, cancel=None)  # prefix only: /completion
    assert not backend.openai_only and done.stop_reason in {"stop_token", "max_tokens"}
    assert done.confidence is not None and 0.0 < done.confidence <= 1.0


def test_a_cancelled_request_stops_reading_and_the_server_goes_on(llama_server: str) -> None:
    backend = LlamaServerBackend(llama_server, DEFAULT)
    imports = Prompt("import os\nimport sys\n", "", "import os\nimport sys\n", (), False)  # it writes imports on and on
    assert backend.generate(imports, max_new_tokens=40, single_line=False, cancel=None).tokens == 40
    started = time.monotonic()
    done = backend.generate(imports, max_new_tokens=400, single_line=False, cancel=CancelAfter(3))
    assert done.stop_reason == "cancelled" and done.text == "" and time.monotonic() - started < 30
    assert backend.generate(fim_prompt(), max_new_tokens=4, single_line=True, cancel=None).stop_reason != "cancelled"


def test_a_refusal_by_the_real_server_is_one_sentence(llama_server: str) -> None:
    backend = LlamaServerBackend(llama_server, DEFAULT)
    plain = Prompt(PREFIX, SUFFIX, "", (), True)
    with pytest.raises(BackendError, match=r"^The llama.cpp server at http://127.0.0.1:\d+ refused") as refused:
        backend.generate(plain, max_new_tokens=-5, single_line=True, cancel=None)  # the server checks n_predict
    assert "n_predict" in str(refused.value) and "\n" not in str(refused.value)

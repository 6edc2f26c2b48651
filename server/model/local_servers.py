"""Model servers that people already run on their own machine: Ollama, and llama.cpp's `llama-server`.

    OllamaBackend("http://127.0.0.1:11434", "qwen2.5-coder:0.5b", template)
    LlamaServerBackend("http://127.0.0.1:8080", template)

Both stream the answer, so a cancelled request stops at the next token: closing the connection makes
the server stop generating. Neither heals the prompt's last token (the servers choose every token).

- **Ollama** `/api/generate`: a fill-in-the-middle prompt goes as `prompt` (the prefix, retrieved
  context first) and `suffix`, and Ollama lays them out with the model's own template (a model whose
  template has no suffix is refused by Ollama with "does not support insert": set completion.fim =
  "off"); a prefix-only prompt goes `raw`, so no chat template wraps it. `keep_alive` keeps the model
  and its cache loaded between keystrokes.
- **llama-server** `/infill`: the prefix, the suffix and the retrieved snippets as `input_extra`, which
  llama.cpp lays out in the model's repository-level FIM format (snippets first, so they stay in its
  prompt cache, `cache_prompt`); the current line goes as `prompt`, after the prefix, so earlier lines
  keep the same tokens while it is typed. A prefix-only prompt goes to `/completion`. A server without
  these routes (llama-cpp-python's `python -m llama_cpp.server`) is answered through its OpenAI-compatible
  `/v1/completions` instead, with the prompt as the engine renders it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from copilot_index.server.model.templates import FimTemplate

from .backend import BackendError, Generated, Prompt, confidence
from .backends import OpenAIBackend

log = logging.getLogger(__name__)

Event = dict[str, Any]


def _stops(template: FimTemplate, single_line: bool) -> list[str]:
    return list(template.stop) + (["\n"] if single_line else [])


def _cut(text: str, template: FimTemplate, single_line: bool) -> str:
    """Text up to the first template stop (a server may pass one) and, for a single line, its first line."""
    for marker in template.stop:
        text = text.split(marker, 1)[0]
    return text.split("\n", 1)[0] if single_line else text


class _StreamingBackend:
    """POSTs a JSON body, reads the streamed answer event by event, and stops reading once cancelled."""

    CHARS_PER_TOKEN = OpenAIBackend.CHARS_PER_TOKEN
    server = "server"
    hint = "check completion.endpoint"

    def __init__(self, endpoint: str, template: FimTemplate, context_length: int, timeout: float) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.template = template
        self.context_length = context_length
        self.timeout = timeout
        self.fim_helps: bool | None = None

    def count_tokens(self, text: str) -> int:
        return int(len(text) / self.CHARS_PER_TOKEN) + 1

    def _stream(
        self, route: str, body: dict[str, Any], cancel: threading.Event | None, text_of: Callable[[Event], str]
    ) -> tuple[list[str], Event, bool]:
        """The streamed pieces of text (one a token), the last event, and whether `cancel` stopped the reading."""
        request = urllib.request.Request(f"{self.endpoint}{route}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        parts: list[str] = []
        last: Event = {}
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                for event in _events(response):
                    if cancel is not None and cancel.is_set():
                        return parts, last, True
                    parts.append(text_of(event))
                    last = event
        except urllib.error.HTTPError as exc:
            raise BackendError(self._refusal(route, exc)) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
            raise BackendError(f"The {self.server} at {self.endpoint} did not answer ({exc}); {self.hint}.") from exc
        log.debug("%s%s answered in %.0f ms", self.endpoint, route, (time.monotonic() - started) * 1000)
        return parts, last, False

    def _refusal(self, route: str, exc: urllib.error.HTTPError) -> str:
        try:
            detail = json.loads(exc.read().decode("utf-8", "replace")).get("error", "")
        except (ValueError, OSError):
            detail = ""
        if isinstance(detail, dict):
            detail = detail.get("message", "")
        reason = str(detail).strip().rstrip(".") or f"HTTP {exc.code}"
        return f"The {self.server} at {self.endpoint} refused {route} ({reason}); {self.hint}."


def _events(response: Any) -> Iterator[Event]:
    """JSON events of a streamed answer: server-sent events (`data: {...}`) or one JSON object a line."""
    for raw in response:
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        if not line or line == "[DONE]" or line.startswith(":"):
            continue
        yield json.loads(line)


class OllamaBackend(_StreamingBackend):
    """A model served by Ollama (`ollama serve`), through its native `/api/generate`."""

    server = "Ollama server"

    def __init__(
        self, endpoint: str, model: str, template: FimTemplate, *, context_length: int = 2048,
        keep_alive: str | int = "30m", timeout: float = 30.0,
    ) -> None:
        super().__init__(endpoint, template, context_length, timeout)
        self.model = model
        self.keep_alive = keep_alive
        self.name = f"ollama:{self.endpoint}:{model}"
        self.hint = f"check that `ollama serve` runs there and has the model {model!r} (`ollama pull {model}`)"

    def request_body(self, prompt: Prompt, max_new_tokens: int, single_line: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "stream": True,
            "keep_alive": self.keep_alive,
            "options": {"temperature": 0, "top_k": 1, "num_predict": max_new_tokens, "num_ctx": self.context_length,
                        "stop": _stops(self.template, single_line)},
        }
        if prompt.use_fim:
            body.update(prompt=prompt.prefix, suffix=prompt.suffix)
        else:
            body.update(prompt=prompt.text, raw=True)
        return body

    def generate(
        self, prompt: Prompt, *, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated:
        if cancel is not None and cancel.is_set():
            return Generated("", "cancelled", 0)
        body = self.request_body(prompt, max_new_tokens, single_line)
        parts, last, cancelled = self._stream("/api/generate", body, cancel, lambda e: str(e.get("response", "")))
        if cancelled:
            return Generated("", "cancelled", 0)
        reason = "max_tokens" if last.get("done_reason") == "length" else "stop_token"
        return Generated(_cut("".join(parts), self.template, single_line), reason,
                         int(last.get("eval_count") or sum(map(bool, parts))))


class LlamaServerBackend(_StreamingBackend):
    """llama.cpp's HTTP server (`llama-server -m model.gguf`), through `/infill` and `/completion`."""

    server = "llama.cpp server"

    def __init__(
        self, endpoint: str, template: FimTemplate, *, context_length: int = 2048, timeout: float = 30.0,
    ) -> None:
        super().__init__(endpoint, template, context_length, timeout)
        self.name = f"llama-server:{self.endpoint}"
        self.hint = "check that llama-server runs there (llama-server -m MODEL.gguf --port PORT)"
        self.openai_only = False
        """Set once the server answered 404 to llama.cpp's own routes: only `/v1/completions` is used then."""

    def infill_body(self, prompt: Prompt, max_new_tokens: int, single_line: bool) -> dict[str, Any]:
        """`/infill`: snippets as `input_extra`, earlier lines as `input_prefix`, the current line as `prompt`."""
        own = prompt.file_prefix  # the snippets travel as `input_extra`, not in the prefix
        line = own.rpartition("\n")[2]
        return {
            "input_prefix": own[: len(own) - len(line)],
            "prompt": line,
            "input_suffix": prompt.suffix,
            "input_extra": [{"filename": s.path, "text": s.text} for s in prompt.snippets],
            **self._sampling(max_new_tokens, single_line),
        }

    def completion_body(self, prompt: Prompt, max_new_tokens: int, single_line: bool) -> dict[str, Any]:
        return {"prompt": prompt.text, **self._sampling(max_new_tokens, single_line)}

    def _sampling(self, max_new_tokens: int, single_line: bool) -> dict[str, Any]:
        return {"n_predict": max_new_tokens, "temperature": 0, "top_k": 1, "stop": _stops(self.template, single_line),
                "cache_prompt": True, "stream": True, "n_probs": 1}  # n_probs: each token's log-probability

    def generate(
        self, prompt: Prompt, *, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated:
        if cancel is not None and cancel.is_set():
            return Generated("", "cancelled", 0)
        if not self.openai_only:
            route, body = ("/infill", self.infill_body(prompt, max_new_tokens, single_line)) if prompt.use_fim \
                else ("/completion", self.completion_body(prompt, max_new_tokens, single_line))
            logprobs: list[float] = []

            def text_of(event: Event) -> str:
                for token in event.get("completion_probabilities") or []:
                    if isinstance(token, dict) and isinstance(token.get("logprob"), int | float):
                        logprobs.append(float(token["logprob"]))
                return str(event.get("content", ""))

            try:
                parts, last, cancelled = self._stream(route, body, cancel, text_of)
            except BackendError as exc:
                if not isinstance(exc.__cause__, urllib.error.HTTPError) or exc.__cause__.code != 404:
                    raise
                log.info("%s has no %s; using its /v1/completions", self.endpoint, route)
                self.openai_only = True
            else:
                if cancelled:
                    return Generated("", "cancelled", 0)
                reason = "max_tokens" if last.get("stop_type") == "limit" else "stop_token"
                return Generated(_cut("".join(parts), self.template, single_line), reason,
                                 int(last.get("tokens_predicted") or sum(map(bool, parts))), confidence(logprobs))
        body = {"prompt": prompt.text, "max_tokens": max_new_tokens, "temperature": 0, "top_k": 1,
                "stop": _stops(self.template, single_line), "stream": True}
        parts, last, cancelled = self._stream("/v1/completions", body, cancel, _openai_text)
        if cancelled:
            return Generated("", "cancelled", 0)
        finish = ((last.get("choices") or [{}])[0]).get("finish_reason")
        reason = "max_tokens" if finish == "length" else "stop_token"
        tokens = int((last.get("usage") or {}).get("completion_tokens") or sum(map(bool, parts)))
        return Generated(_cut("".join(parts), self.template, single_line), reason, tokens)


def _openai_text(event: Event) -> str:
    return str(((event.get("choices") or [{}])[0]).get("text") or "")

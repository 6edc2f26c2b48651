"""The in-process transformers backend (the shipped default, any Hugging Face model folder, a `peft` adapter on
top) and the OpenAI-compatible HTTP one (vLLM with `--enable-lora`, TGI, `transformers serve`)."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request

from .backend import BackendError, Generated, Prompt
from .templates import FimTemplate

log = logging.getLogger(__name__)


class TransformersBackend:
    """A Hugging Face causal LM in this process (the shipped default, a local directory or a hub id)."""

    def __init__(self, model: str | None = None, adapter: str | None = None, dtype: str = "float32") -> None:
        from .loader import load_generator

        self.generator = load_generator(model, adapter=adapter, dtype=dtype)
        self.name = f"transformers:{self.generator.source}" + (f"+{adapter}" if adapter else "")
        self.template = self.generator.template
        self.context_length = self.generator.context_length
        self.fim_helps = self.generator.fim_helps
        self._lock = threading.Lock()  # one generation at a time per model

    def count_tokens(self, text: str) -> int:
        return len(self.generator.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def generate(
        self, prompt: Prompt, *, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated:
        from .generation import complete

        with self._lock:
            result = complete(
                self.generator,
                prompt.prefix,
                prompt.suffix,
                max_new_tokens=max_new_tokens,
                single_line=single_line,
                use_fim=prompt.use_fim,
                max_prompt_tokens=self.context_length - max_new_tokens,
                cancelled=cancel.is_set if cancel is not None else None,
            )
        return Generated(result.text, result.stop_reason, result.tokens, result.confidence)


class OpenAIBackend:
    """An OpenAI-compatible `/v1/completions` server: vLLM (`--enable-lora`), TGI, llama.cpp, `transformers serve`."""

    CHARS_PER_TOKEN = 3.5

    def __init__(
        self, endpoint: str, model: str, template: FimTemplate, *, context_length: int = 2048,
        api_key: str | None = None, timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self.template = template
        self.context_length = context_length
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"openai:{self.endpoint}:{model}"
        self.fim_helps: bool | None = None

    def count_tokens(self, text: str) -> int:
        return int(len(text) / self.CHARS_PER_TOKEN) + 1

    def generate(
        self, prompt: Prompt, *, max_new_tokens: int, single_line: bool, cancel: threading.Event | None
    ) -> Generated:
        if cancel is not None and cancel.is_set():
            return Generated("", "cancelled", 0)
        stop = list(self.template.stop) + (["\n"] if single_line else [])
        body = {
            "model": self.model,
            "prompt": prompt.text,
            "max_tokens": max_new_tokens,
            "temperature": 0.0,
            "stop": stop[:4],  # the OpenAI API accepts at most four stop sequences
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            f"{self.endpoint}/v1/completions", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                data = json.loads(response.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise BackendError(
                f"The completion server at {self.endpoint} did not answer ({exc}); check completion.endpoint."
            ) from exc
        choice = (data.get("choices") or [{}])[0]
        text = str(choice.get("text", ""))
        for marker in self.template.stop:  # servers may return text past a stop sequence they ignored
            text = text.split(marker, 1)[0]
        if single_line:
            text = text.split("\n", 1)[0]
        log.debug("remote completion in %.0f ms", (time.monotonic() - started) * 1000)
        usage = data.get("usage") or {}
        return Generated(text, str(choice.get("finish_reason") or "stop"), int(usage.get("completion_tokens", 0)))

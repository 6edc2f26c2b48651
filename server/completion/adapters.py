"""The engine's side of adapter training and evaluation (`conventions.adapter.run`, `conventions.eval`).

Those live in `conventions` and must not import the server; `EngineRuntime` hands them what they need of it: the
configured generator, and prompts assembled, retrieved and tokenized exactly as the engine does at the cursor.
"""

from __future__ import annotations

import dataclasses
import shutil
from functools import cached_property
from pathlib import Path
from typing import Any

from copilot_index.conventions.adapter.gguf_lora import GGUF_LORA, cached_digest, export_gguf_lora
from copilot_index.conventions.adapter.gguf_lora_import import import_gguf_lora
from copilot_index.conventions.adapter.samples import Sample
from copilot_index.indexer import CopilotIndexError, Index, language_for_path, user_cache
from copilot_index.server.model.backend import Prompt
from copilot_index.server.model.generation import build_prompt, complete
from copilot_index.server.model.gguf_import import import_gguf
from copilot_index.server.model.loader import LoadedGenerator, load_generator

from .config import CompletionConfig
from .context import ContextRetriever
from .prompt import Budgets, assemble, fim_enabled, prompt_window

LOOKAHEAD = 80
"""Characters after a line's end tokenized with it, so its last target token is the one the text really has."""
SPAN_TOKENS = 48
"""Tokens generated for a fill-in-the-middle span sample."""


class PromptRenderer:
    """Turns a sample into the prompt the completion engine would build at that cursor."""

    def __init__(self, generator: LoadedGenerator, config: CompletionConfig, retriever: ContextRetriever | None) -> None:
        self.generator = generator
        self.config = config
        self.retriever = retriever
        self.budgets = Budgets(config.prefix_share, config.suffix_share, config.context_share)

    @property
    def retrieves(self) -> bool:
        """Whether an index is there to retrieve context from."""
        return self.retriever is not None

    def new_tokens(self, sample: Sample) -> int:
        """Tokens generated for a sample: a line as a single-line completion, a span like a short block."""
        return self.config.max_tokens if sample.kind == "line" else SPAN_TOKENS

    def window(self, sample: Sample) -> int:
        """The prompt window, reckoned as the engine reckons it for the same generation length."""
        return prompt_window(self.config.context_length, self.generator.context_length, self.new_tokens(sample))

    def prompt_limit(self, sample: Sample) -> int:
        """`max_prompt_tokens` as the in-process backend passes it to `complete` (which keeps 8 spare)."""
        return self.generator.context_length - self.new_tokens(sample)

    def count(self, text: str) -> int:
        return len(self.generator.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    @property
    def use_fim(self) -> bool:
        """Whether prompts carry the suffix (`completion.fim`, the template, the model's own measurement)."""
        return fim_enabled(self.config.fim, self.generator.template, self.generator.fim_helps)

    def prompt(self, sample: Sample, retrieval: bool) -> Prompt:
        snippets = []
        window = self.window(sample)
        if retrieval and self.retriever is not None:
            budget = self.budgets.split(window)[2]
            snippets = self.retriever.retrieve(sample.path, sample.prefix, sample.suffix, budget, self.count)
        return assemble(self.generator.template, sample.path, language_for_path(sample.path), sample.prefix,
                        sample.suffix, snippets, window, self.count, self.budgets, self.use_fim,
                        self.config.following_lines)

    def example(self, sample: Sample, retrieval: bool) -> tuple[list[int], list[int]]:
        p = self.prompt(sample, retrieval)
        ids, healed = build_prompt(self.generator, p.prefix, p.suffix, p.use_fim, self.prompt_limit(sample) - 8)
        # The whitespace the prompt's end gave up is the start of what the model must write.
        if p.use_fim or sample.kind != "line" or not sample.suffix:
            text, eos = healed + sample.middle, self.generator.tokenizer.eos_token_id
        else:  # the file goes on after the line: it ends with the token that holds the line break
            return ids, self.through_line_end(healed + sample.middle, sample.suffix)
        target = self.generator.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return ids, target + ([eos] if eos is not None else [])

    def through_line_end(self, line: str, after: str) -> list[int]:
        """The tokens of `line` and of its line break, cut where the file's own tokenization of the line and what
        follows it reaches past the line (where generation stops). Tokenized alone, the break would end in a token
        the file never has (a newline and the whole next indentation, where the text has a newline and one space
        less, the last space going with the next word), and a model trained to write that token at every line's
        end writes it at the start of the next one too: it wrote blank lines."""
        tokenizer = self.generator.tokenizer
        ids = tokenizer(line + after[:LOOKAHEAD], add_special_tokens=False, verbose=False)["input_ids"]
        for end in range(1, len(ids) + 1):
            if len(tokenizer.decode(ids[:end], clean_up_tokenization_spaces=False)) > len(line):
                return list(ids[:end])
        return list(ids)

    def complete(self, model: Any, sample: Sample, retrieval: bool) -> tuple[str, float | None]:
        p = self.prompt(sample, retrieval)
        line = sample.kind == "line"
        generator = dataclasses.replace(self.generator, model=model)
        done = complete(generator, p.prefix, p.suffix, max_new_tokens=self.new_tokens(sample),
                        single_line=line, use_fim=p.use_fim, max_prompt_tokens=self.prompt_limit(sample))
        return done.text, done.confidence


def open_retriever(index: Index, candidates: int) -> ContextRetriever | None:
    """The retriever the engine would use (`candidates` = completion.retrieval_snippets), or None
    without an index."""
    return ContextRetriever(index, candidates=candidates) if index.exists else None


class EngineRuntime:
    """The repository's configured generator (loaded on first use, as training loads it: float32) and the
    engine's prompts for it: `conventions.adapter.rendering.CompletionRuntime`.

    A GGUF model (llama.cpp) is trained as its de-quantized float copy, imported once into the user's cache, and
    each adapter is also written as a GGUF LoRA that llama.cpp (and Ollama) load next to the GGUF file."""

    def __init__(self, index: Index, config: CompletionConfig) -> None:
        self.index = index
        self.config = config
        self.gguf = Path(config.model_path).expanduser() if config.runs_gguf else None
        self.spec = None if config.runs_shipped_model else config.model_path
        if self.gguf is not None:
            self.spec = str(imported_copy(self.gguf))

    @cached_property
    def base(self) -> LoadedGenerator:
        return load_generator(self.spec)

    @cached_property
    def renderer(self) -> PromptRenderer:
        return PromptRenderer(self.base, self.config, open_retriever(self.index, self.config.retrieval_snippets))

    def adapted(self, adapter: Path) -> Any:
        return load_generator(self.spec, adapter=str(adapter)).model

    def default_adapter(self) -> Path | None:
        """The shipped code LoRA as peft files for the float copy of the GGUF base, imported once per LoRA and base
        (user cache); None when the configuration serves no default LoRA."""
        lora = self.config.default_lora
        if lora is None or self.gguf is None or self.spec is None:
            return None
        folder = user_cache() / "imported" / f"lora-{cached_digest(Path(lora))[:12]}-{cached_digest(self.gguf)[:12]}"
        if not (folder / "adapter_config.json").is_file():
            import_gguf_lora(Path(lora), self.gguf, Path(self.spec), folder)
        return folder

    def saved(self, adapter: Path) -> dict[str, Any]:
        if self.gguf is None:
            return {}
        exported = export_gguf_lora(adapter, self.gguf, adapter / GGUF_LORA)
        return {"gguf_base": str(self.gguf), "gguf_lora": exported.as_json()}


def imported_copy(gguf: Path) -> Path:
    """The float model directory a GGUF file is trained as, imported once per file content (user cache)."""
    folder = user_cache() / "imported" / cached_digest(gguf)[:16]
    if not (folder / "config.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        import_gguf(gguf, folder)
    return folder


def training_runtime(index: Index, config: CompletionConfig) -> EngineRuntime:
    """The runtime `train-adapter` trains with; adapters are trained on the in-process backend only."""
    if config.backend not in ("transformers", "llama.cpp"):
        raise CopilotIndexError(
            "Adapters are trained in process; set completion.backend to \"transformers\" or \"llama.cpp\" to train one."
        )
    return EngineRuntime(index, config)

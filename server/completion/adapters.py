"""Train, evaluate and promote LoRA adapters with prompts built exactly as at inference time.

The sample mining, LoRA loop and registry live in `conventions.adapter`; this module supplies
what they must not import: the loaded generator, prompt assembly and retrieval.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot_index.conventions.adapter.registry import AdapterRegistry, better, model_digest
from copilot_index.conventions.adapter.samples import Sample, SampleSet, mine_samples, spread
from copilot_index.conventions.adapter.scoring import score_samples
from copilot_index.conventions.adapter.training import AdapterArgs, clear_checkpoint, train_lora, wrap_with_lora
from copilot_index.indexer.config import IndexConfig
from copilot_index.indexer.errors import CopilotIndexError, NoIndexError
from copilot_index.indexer.languages import language_for_path
from copilot_index.indexer.repo import RepoInfo
from copilot_index.indexer.search import search_for
from copilot_index.indexer.status import open_existing_store
from copilot_index.server.model.generation import build_prompt, complete
from copilot_index.server.model.loader import LoadedGenerator, load_generator

from .config import CompletionConfig
from .context import ContextRetriever
from .prompt import Budgets, Prompt, assemble, fim_enabled, prompt_window

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
LINE_BREAK = re.compile(r"\n?[ \t]*")
"""A line's end as a prefix-only model sees it: the line break and the next line's indentation."""
SPAN_TOKENS = 48
"""Tokens generated for a fill-in-the-middle span sample."""


class PromptRenderer:
    """Turns a sample into the prompt the completion engine would build at that cursor."""

    def __init__(self, generator: LoadedGenerator, config: CompletionConfig, retriever: ContextRetriever | None) -> None:
        self.generator = generator
        self.config = config
        self.retriever = retriever
        self.budgets = Budgets(config.prefix_share, config.suffix_share, config.context_share)

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
                        sample.suffix, snippets, window, self.count, self.budgets, self.use_fim)

    def example(self, sample: Sample, retrieval: bool) -> tuple[list[int], list[int]]:
        p = self.prompt(sample, retrieval)
        ids, healed = build_prompt(self.generator, p.prefix, p.suffix, p.use_fim, self.prompt_limit(sample) - 8)
        # The whitespace the prompt's end gave up is the start of what the model must write.
        if p.use_fim or sample.kind != "line" or not sample.suffix:
            text, eos = healed + sample.middle, self.generator.tokenizer.eos_token_id
        else:  # the file goes on after the line: it ends with the line break, where generation stops
            text, eos = healed + sample.middle + LINE_BREAK.match(sample.suffix)[0], None  # type: ignore[index]
        target = self.generator.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return ids, target + ([eos] if eos is not None else [])

    def complete(self, model: Any, sample: Sample, retrieval: bool) -> str:
        p = self.prompt(sample, retrieval)
        line = sample.kind == "line"
        generator = dataclasses.replace(self.generator, model=model)
        return complete(generator, p.prefix, p.suffix, max_new_tokens=self.new_tokens(sample),
                        single_line=line, use_fim=p.use_fim, max_prompt_tokens=self.prompt_limit(sample)).text


def open_retriever(data_dir: Path, repo: RepoInfo, candidates: int) -> ContextRetriever | None:
    """The retriever the engine would use (`candidates` = completion.retrieval_snippets), or None
    without an index."""
    try:
        store = open_existing_store(data_dir, repo.root)
    except NoIndexError:
        return None
    return ContextRetriever(search_for(store, data_dir, IndexConfig.load(repo.root)), candidates=candidates)


@dataclass
class AdapterReport:
    version: int | None = None
    path: str | None = None
    promoted: bool = False
    reason: str = ""
    samples: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def train_adapter(
    repo: RepoInfo,
    data_dir: Path,
    config: CompletionConfig,
    args: AdapterArgs | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    max_eval: int = 120,
) -> AdapterReport:
    """Mine, train, evaluate against the base and the active adapter, and promote only a winner."""
    args = args or AdapterArgs()
    if config.backend != "transformers":
        raise CopilotIndexError("Adapters are trained in process; set completion.backend = \"transformers\" to train one.")
    base_spec = None if config.model == "default" else config.model
    generator = load_generator(base_spec)
    registry = AdapterRegistry(data_dir)
    samples = mine_samples(repo, seed=args.seed, target_samples=args.target_samples)
    if not samples.train or not samples.held_out:
        raise CopilotIndexError("Too little code to train an adapter on (no training or held-out files were found).")
    renderer = PromptRenderer(generator, config, open_retriever(data_dir, repo, config.retrieval_snippets))
    held_out = spread(samples.held_out, max_eval)
    # Without the suffix in the prompt, a random span ends where nothing the model sees says why:
    # training on them teaches it to stop mid-line. Such a model learns from next lines only.
    train = samples.train if renderer.use_fim else [s for s in samples.train if s.kind == "line"]
    report = AdapterReport(samples={"train": len(train), "held_out": len(held_out),
                                    "train_files": len(samples.train_files)})
    if len(train) < len(samples.train):
        report.samples["spans_left_out"] = len(samples.train) - len(train)
    base_metrics = score_samples(held_out, lambda s: renderer.complete(generator.model, s, retrieval=True))
    report.metrics["base"] = base_metrics
    active = registry.active()
    active_metrics = None
    if active is not None:
        active_model = load_generator(base_spec, adapter=str(active.path)).model
        active_metrics = score_samples(held_out, lambda s: renderer.complete(active_model, s, retrieval=True))
        report.metrics[f"active v{active.version}"] = active_metrics

    examples = []
    for i, sample in enumerate(train):
        examples.append(renderer.example(sample, retrieval=True))
        if progress is not None:
            progress("Preparing samples", i + 1, len(train))
    peft_model = wrap_with_lora(generator.model, args)
    pad = generator.tokenizer.pad_token_id if generator.tokenizer.pad_token_id is not None else 0
    work = data_dir / "adapters" / "work"
    outcome = train_lora(peft_model, examples, args, pad_id=pad, work_dir=work, progress=progress, cancel=cancel)
    report.training = outcome.as_json()
    if outcome.stopped == "cancelled":
        report.reason = "training was cancelled; its checkpoint is kept, so the next run resumes"
        return report
    trained = score_samples(held_out, lambda s: renderer.complete(peft_model, s, retrieval=True))
    report.metrics["trained"] = trained
    version, path = registry.next_path()
    path.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(path))
    registry.write_manifest(path, _manifest(repo, generator, samples, args, report))
    clear_checkpoint(work)
    report.version, report.path = version, str(path)
    if not better(trained, base_metrics):
        report.reason = "kept the previous state: the new adapter does not beat the base model on held-out files"
    elif not better(trained, active_metrics):
        report.reason = f"kept v{active.version if active else '?'}: the new adapter does not beat the active one"
    else:
        registry.activate(version)
        report.promoted = True
        report.reason = "promoted: it beats the base model" + (" and the previous adapter" if active else "")
    return report


def _manifest(repo: RepoInfo, generator: LoadedGenerator, samples: SampleSet, args: AdapterArgs,
              report: AdapterReport) -> dict[str, Any]:
    return {
        "base_model": generator.source,
        "base_model_sha256": model_digest(generator.source),
        "repository": str(repo.root),
        "commit": repo.head_commit(),
        "training_files_sha256": samples.files_hash,
        "training_files": len(samples.train_files),
        "held_out_files": sorted(samples.held_out_files),
        "hyperparameters": dataclasses.asdict(args),
        "metrics": report.metrics,
        "training": report.training,
    }

"""Load the generator: the shipped default model, a local model directory or a hub id.

    generator = load_generator()                      # the default model shipped in the package
    generator = load_generator("/models/my-coder")    # a local Hugging Face model directory
    generator = load_generator("Qwen/Qwen2.5-Coder-0.5B", adapter="/data/adapter")

With ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) no network access is attempted: hub ids
are looked up in the local cache only. A model that cannot be found raises `ModelNotFoundError`
with one sentence naming what to configure.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from copilot_index.indexer import MODEL_LOADING

from .templates import FimTemplate, template_for

log = logging.getLogger(__name__)

DEFAULT_SPECS = frozenset({"", "default", "copilot-index-default"})
CONFIG_HINT = "set `model` in .copilot-index.toml to a local model directory or a hub id"


class ModelNotFoundError(RuntimeError):
    """The configured generator model (or adapter) cannot be found or loaded."""


@dataclass
class LoadedGenerator:
    """A causal LM ready for completion, with its tokenizer and FIM template."""

    model: Any
    tokenizer: Any
    template: FimTemplate
    source: str
    stop_ids: frozenset[int]
    context_length: int
    adapter: str | None = None
    fim_helps: bool | None = None
    """What the model's own held-out evaluation (`training_metrics.json`) found: does the suffix help?
    None when the model carries no such measurement (any model not trained by this project)."""


def measured_fim_helps(source: str) -> bool | None:
    """`evaluation.fim_beats_prefix_only` from a local model folder's training_metrics.json, if any."""
    try:
        metrics = json.loads((Path(source) / "training_metrics.json").read_text(encoding="utf-8"))
        value = metrics["evaluation"]["fim_beats_prefix_only"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, bool) else None


def default_model_dir() -> Path:
    """Where the default model ships: the package's `default/` folder."""
    return Path(str(resources.files(__package__).joinpath("default")))


def hub_offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


def looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~", ".\\")) or spec.endswith(("/", "\\"))


def resolve_source(spec: str | os.PathLike[str] | None) -> tuple[str, bool]:
    """The directory or hub id to load, and whether it is a local directory."""
    if spec is None or str(spec).strip() in DEFAULT_SPECS:
        path = default_model_dir()
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"The default model is missing from {path}; reinstall copilot-index or "
                f"{CONFIG_HINT}."
            )
        return str(path), True
    text = str(spec).strip()
    path = Path(text).expanduser()
    if path.suffix.lower() == ".gguf" and not path.is_dir():
        raise ModelNotFoundError(
            f"{text!r} is a GGUF file, which llama.cpp runs as it is (the engine does so by itself); to load it "
            f"with transformers, convert it once with `copilot-index import-model {text} DIR` and name DIR."
        )
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"Model directory {text!r} holds no config.json; {CONFIG_HINT}."
            )
        return str(path), True
    if looks_like_path(text) or path.exists():
        raise ModelNotFoundError(f"Model directory {text!r} does not exist; {CONFIG_HINT}.")
    return text, False


def stop_token_ids(tokenizer: Any, model: Any, template: FimTemplate) -> frozenset[int]:
    """Ids at which generation stops: the template's stop tokens, EOS and other special tokens."""
    vocab = tokenizer.get_vocab()
    ids = {vocab[token] for token in template.stop if token in vocab}
    ids.update(tokenizer.all_special_ids)
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is not None:
        ids.update(eos if isinstance(eos, list) else [eos])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return frozenset(ids)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in BF16_CPU_FLAGS)


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A torch dtype from "auto" (bfloat16 where the CPU has it natively, else float32), a name, or a dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if cpu_has_bf16() else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be auto, {' or '.join(DTYPES)}, not {dtype!r}")
    return DTYPES[dtype]


def load_generator(
    spec: str | os.PathLike[str] | None = None,
    adapter: str | os.PathLike[str] | None = None,
    *,
    dtype: torch.dtype | str = torch.float32,
) -> LoadedGenerator:
    """Load a causal LM, its tokenizer and FIM template; optionally a `peft` adapter on top.

    `spec` is None or "default" for the shipped model, a local directory, or a hub id. Weights
    are loaded as `dtype` ("auto" picks bfloat16 on CPUs that compute it natively, where it is
    faster; training code keeps float32), in evaluation mode.
    """
    dtype = resolve_dtype(dtype)
    source, local = resolve_source(spec)
    local_only = local or hub_offline()
    try:
        with MODEL_LOADING:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        log.debug("loading %s failed", source, exc_info=True)
        if local_only and not local:
            raise ModelNotFoundError(
                f"Model {source!r} was not found locally; {CONFIG_HINT}, or unset "
                "HF_HUB_OFFLINE to download it."
            ) from exc
        raise ModelNotFoundError(
            f"Model {source!r} could not be loaded ({exc}); {CONFIG_HINT}."
        ) from exc
    template = template_for(source, tokenizer, model.config)
    if adapter is not None:
        with MODEL_LOADING:
            model = attach_adapter(model, str(adapter))
    model.eval()
    context = getattr(model.config, "max_position_embeddings", None) or tokenizer.model_max_length
    log.info("loaded generator %s (template %s)", source, template.name)
    return LoadedGenerator(
        model=model,
        tokenizer=tokenizer,
        template=template,
        source=source,
        stop_ids=stop_token_ids(tokenizer, model, template),
        context_length=int(min(context, 1 << 20)),
        adapter=None if adapter is None else str(adapter),
        fim_helps=measured_fim_helps(source),
    )


def attach_adapter(model: Any, adapter: str) -> Any:
    """Wrap `model` with the `peft` adapter stored in the directory `adapter`."""
    if not Path(adapter).expanduser().is_dir():
        raise ModelNotFoundError(
            f"Adapter directory {adapter!r} does not exist; set `adapter` in .copilot-index.toml "
            "to a trained adapter or run `copilot-index train-adapter`."
        )
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelNotFoundError(
            f"Loading the adapter {adapter!r} needs the `peft` package; install it."
        ) from exc
    return PeftModel.from_pretrained(model, str(Path(adapter).expanduser()), is_trainable=False)

"""Turn a GGUF file (llama.cpp, Ollama, LM Studio) into a model directory the loader can use.

    copilot-index import-model ~/models/SmolLM2-135M-Instruct.Q4_1.gguf ~/models/smollm2
    # then, in .copilot-index.toml:  [completion] model = "~/models/smollm2"

`transformers` reads the file (weights de-quantized to float32, tokenizer rebuilt from the
file's vocabulary and merges); the result is written as a plain Hugging Face directory, so
loading it later is fast, LoRA adapters can be trained on it, and `peft`/vLLM can serve them.
"""

from __future__ import annotations

import logging
import shutil
import struct
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from copilot_index.conventions.registry import file_sha256
from copilot_index.indexer import CopilotIndexError

from .templates import template_for

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"


class GgufImportError(CopilotIndexError):
    """A GGUF file cannot be turned into a model directory."""


@dataclass
class ImportedModel:
    path: str
    source: str
    source_sha256: str
    architecture: str
    parameters: int
    vocabulary: int
    template: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def import_gguf(source: Path, out: Path) -> ImportedModel:
    """De-quantize `source` into a new model directory `out` (written whole or not at all)."""
    source, out = source.expanduser(), out.expanduser()
    _check_source(source)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GgufImportError(f"{out} already exists and is not an empty folder; name a new folder for the model.")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    except (ValueError, KeyError, IndexError, NotImplementedError, OSError, EOFError, struct.error) as exc:
        log.debug("reading %s failed", source, exc_info=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GgufImportError(
            f"{source} could not be read as a causal language model ({reason}); "
            "only the architectures transformers reads from GGUF (llama, qwen2, mistral, ...) can be imported."
        ) from exc
    # The weights are plain float32 tensors now; a config that still says "quantized" would stop
    # the model from being saved or wrapped in a LoRA.
    config = loaded.config
    config.__dict__.pop("quantization_config", None)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp made it private; a model folder is read by whoever serves it
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ImportedModel(
        path=str(out),
        source=str(source),
        source_sha256=file_sha256(source),
        architecture=str(config.model_type),
        parameters=sum(p.numel() for p in model.parameters()),
        vocabulary=len(tokenizer),
        template=template_for(str(out), tokenizer, config).name,
    )


def _check_source(source: Path) -> None:
    if not source.is_file():
        raise GgufImportError(f"{source} does not exist; give the path of a .gguf model file.")
    with source.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise GgufImportError(f"{source} is not a GGUF file (it does not start with 'GGUF'); give a .gguf model file.")

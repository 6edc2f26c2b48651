"""A GGUF LoRA (llama.cpp's adapter file) as a peft adapter folder for the de-quantized copy of its base.

The inverse of `gguf_lora.export_gguf_lora`: the same low-rank matrices under transformers' module names, the
q and k rows of llama-architecture files put back in transformers' order, and llama.cpp's `alpha / rank` scale
written as peft's `lora_alpha` over `r`. `train-adapter` uses it to score the default model as it is served
(SmolLM2 with the shipped code LoRA) on the same held-out samples as a new adapter, which must beat it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import gguf
import numpy as np

from .gguf_lora import PERMUTED_QK_ARCHITECTURES, GgufLoraError, check_lora_for_base, read_base, read_gguf

_PARTS = (".lora_a", ".lora_b")


def _unrotary_rows(matrix: np.ndarray, heads: int) -> np.ndarray:
    """Rows of q or k from llama.cpp's order back to transformers' (the inverse of `gguf_lora._rotary_rows`)."""
    half = matrix.shape[0] // heads // 2
    return matrix.reshape(heads, half, 2, *matrix.shape[1:]).swapaxes(1, 2).reshape(matrix.shape)


def _module_names(model_dir: Path) -> list[str]:
    """The linear modules of the float model in `model_dir` (from its safetensors' weight names)."""
    from safetensors import safe_open

    names: list[str] = []
    for weights in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(weights), framework="numpy") as handle:
            names += [key.removesuffix(".weight") for key in handle.keys() if key.endswith(".weight")]  # noqa: SIM118
    if not names:
        raise GgufLoraError(f"{model_dir} holds no safetensors weights; import the base model again.")
    return names


def import_gguf_lora(lora: Path, base_gguf: Path, model_dir: Path, out: Path) -> Path:
    """Write the GGUF LoRA `lora` (made for `base_gguf`) as a peft adapter folder `out` for the float copy of that
    base in `model_dir` (whole or not at all); `out`."""
    check_lora_for_base(lora, base_gguf)
    base = read_base(base_gguf)
    header = read_gguf(lora, "LoRA adapter")
    names = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}
    tensor_map = gguf.get_tensor_name_map(names[base.architecture], base.blocks)
    modules = {}
    for module in _module_names(model_dir):
        target = tensor_map.get_name(f"{module}.weight", try_suffixes=(".weight",))
        if target is not None:
            modules[target] = module
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for tensor in gguf.GGUFReader(lora).tensors:
        target, part = tensor.name[:-7], tensor.name[-1]
        if not tensor.name.endswith(_PARTS) or target not in modules:
            raise GgufLoraError(f"{lora} adapts {tensor.name}, which the model in {model_dir} does not have; "
                                "import the base model it was made for.")
        pairs.setdefault(target, {})[part] = np.array(tensor.data, dtype=np.float32)
    ranks = {pair["a"].shape[0] for pair in pairs.values() if set(pair) == {"a", "b"}}
    if not pairs or len(ranks) != 1 or any(set(pair) != {"a", "b"} for pair in pairs.values()):
        raise GgufLoraError(f"{lora} does not hold whole LoRA pairs of one rank; give a LoRA that llama.cpp loads.")
    rank = ranks.pop()
    alpha = float(header.get(gguf.Keys.Adapter.LORA_ALPHA) or rank)  # llama.cpp: no alpha means a scale of 1
    state = {}
    for target, pair in pairs.items():
        b = pair["b"]
        if base.architecture in PERMUTED_QK_ARCHITECTURES and target.endswith((".attn_q.weight", ".attn_k.weight")):
            b = _unrotary_rows(b, base.heads if ".attn_q." in target else base.kv_heads)
        prefix = f"base_model.model.{modules[target]}"
        state[f"{prefix}.lora_A.weight"] = np.ascontiguousarray(pair["a"])
        state[f"{prefix}.lora_B.weight"] = np.ascontiguousarray(b)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": alpha, "lora_dropout": 0.0,
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "base_model_name_or_path": str(model_dir),
        "target_modules": sorted({modules[t].rsplit(".", 1)[-1] for t in pairs}),
    }
    from safetensors.numpy import save_file

    out = out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        save_file(state, str(staging / "adapter_model.safetensors"))
        (staging / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out

"""A repository's adapter trained on top of the default model's own LoRA, saved as one LoRA holding both.

The default model is served with the shipped code LoRA, and a promoted adapter of the repository's replaces it
(the engine serves one adapter). So `train-adapter` trains the new LoRA on the base with the code LoRA merged in
(`merged_start`), and `stack_adapters` then writes the two as one plain LoRA of rank r1 + r2: the A matrices
stacked, and the B matrices side by side, each times its own peft scale, under a scale of 1. B A is then
s1 B1 A1 + s2 B2 A2, exactly the two updates added, so the folder loads in peft, vLLM and (as a GGUF LoRA)
llama.cpp like any other adapter. A module only one of them adapts gets zeros in the other's rows.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .gguf_lora import adapter_pairs, module_scale

_REWRITTEN = frozenset({"adapter_model.safetensors", "adapter_config.json", "adapter_model.bin"})


def merged_start(adapted: Any) -> Any:
    """The base model with the LoRA it was loaded with merged into its weights (a plain model to train on)."""
    return adapted.merge_and_unload() if hasattr(adapted, "merge_and_unload") else adapted


def stack_adapters(under: Path, over: Path, out: Path) -> dict[str, Any]:
    """Write the peft adapters `under` (the one merged in before training) and `over` (trained on top) as one
    peft adapter in `out` (replaced whole); what the manifest records of it."""
    configs, parts = [], []
    for folder in (under, over):
        config, pairs = adapter_pairs(folder)
        configs.append(config)
        parts.append({module: (pair["A"], pair["B"] * module_scale(config, module, pair["A"].shape[0]))
                      for module, pair in pairs.items()})
    ranks = [max(a.shape[0] for a, _ in part.values()) for part in parts]
    rank = sum(ranks)
    state: dict[str, np.ndarray] = {}
    for module in sorted(set(parts[0]) | set(parts[1])):
        a_any, b_any = next(part[module] for part in parts if module in part)
        inputs, outputs = a_any.shape[1], b_any.shape[0]  # the module's sizes, for zeros where a side lacks it
        a_rows, b_columns = [], []
        for part, width in zip(parts, ranks, strict=True):
            a, b = part.get(module, (np.zeros((width, inputs), np.float32), np.zeros((outputs, width), np.float32)))
            pad = width - a.shape[0]  # a module of a lower rank (rank_pattern) than its adapter's largest
            a_rows.append(np.pad(a, ((0, pad), (0, 0))))
            b_columns.append(np.pad(b, ((0, 0), (0, pad))))
        state[f"base_model.model.{module}.lora_A.weight"] = np.ascontiguousarray(np.concatenate(a_rows), np.float32)
        state[f"base_model.model.{module}.lora_B.weight"] = np.ascontiguousarray(np.concatenate(b_columns, 1), np.float32)
    config = {key: value for key, value in configs[1].items() if key not in ("rank_pattern", "alpha_pattern")}
    config.update(r=rank, lora_alpha=rank, use_rslora=False, use_dora=False, inference_mode=True,
                  target_modules=sorted({m.rsplit(".", 1)[-1] for m in set(parts[0]) | set(parts[1])}))
    from safetensors.numpy import save_file

    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in os.listdir(over):  # README and the like travel along; the weights and config are rewritten
            if name not in _REWRITTEN and (over / name).is_file():
                shutil.copy2(over / name, staging / name)
        save_file(state, str(staging / "adapter_model.safetensors"))
        (staging / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"stacked_on": str(under), "ranks": {"under": ranks[0], "over": ranks[1]}}

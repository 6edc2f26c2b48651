"""A repository's adapter trained on top of the default LoRA is saved as one LoRA holding both (`stack`): loaded on
the bare base, it computes what the base with the first merged in and the second on top computes."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from copilot_index.conventions.adapter.stack import merged_start, stack_adapters
from copilot_index.server.model.loader import LoadedGenerator, load_generator

CODE = "def add(a, b):\n    return a + b\n\nclass Cart:\n    def __init__(self):\n"


@cache
def _default() -> LoadedGenerator:
    return load_generator(None)


def _fresh() -> torch.nn.Module:
    return copy.deepcopy(_default().model).float()


def _lora(model: torch.nn.Module, seed: int, **options: object) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    return get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **options))  # type: ignore[arg-type]


def _logits(model: torch.nn.Module) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([_default().tokenizer(CODE).input_ids])).logits[0, -1].numpy()


@pytest.mark.parametrize("under_options", [
    {"r": 4, "lora_alpha": 12, "target_modules": ["q_proj", "v_proj", "down_proj"]},
    {"r": 4, "lora_alpha": 12, "target_modules": ["q_proj", "k_proj"], "use_rslora": True,
     "rank_pattern": {"k_proj": 2}, "alpha_pattern": {"k_proj": 3}},
], ids=["lora", "rslora-with-patterns"])
def test_the_stacked_adapter_computes_both_updates(tmp_path: Path, under_options: dict) -> None:
    from peft import PeftModel

    under = _lora(_fresh(), 0, **under_options)
    under.save_pretrained(str(tmp_path / "under"))
    over = _lora(merged_start(PeftModel.from_pretrained(_fresh(), str(tmp_path / "under"))), 1,
                 r=8, lora_alpha=16, target_modules=["q_proj", "o_proj"])
    over.save_pretrained(str(tmp_path / "over"))
    expected = _logits(over)
    record = stack_adapters(tmp_path / "under", tmp_path / "over", tmp_path / "over")  # in place, as train-adapter does
    assert record["ranks"] == {"under": 4, "over": 8}
    config = json.loads((tmp_path / "over" / "adapter_config.json").read_text())
    assert config["r"] == 12 and config["target_modules"] == sorted({*under_options["target_modules"], "q_proj", "o_proj"})
    stacked = PeftModel.from_pretrained(_fresh(), str(tmp_path / "over"))
    alone = PeftModel.from_pretrained(_fresh(), str(tmp_path / "under"))
    got, first = _logits(stacked), _logits(alone)
    assert np.abs(expected - first).max() > 1.0  # the second adapter matters
    assert np.abs(got - expected).max() < 1e-3

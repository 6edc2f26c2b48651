"""FIM template table, template detection and the loader's errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from copilot_index.server.model.generation import complete
from copilot_index.server.model.loader import (
    ModelNotFoundError,
    cpu_has_bf16,
    load_generator,
    resolve_dtype,
    resolve_source,
)
from copilot_index.server.model.templates import load_templates, template_for, template_named


class FakeTokenizer:
    def __init__(self, *tokens: str) -> None:
        self.vocab = {token: i for i, token in enumerate(tokens)}

    def get_vocab(self) -> dict[str, int]:
        return self.vocab


def test_table_has_every_family_with_prefix_and_suffix_placeholders():
    names = [t.name for t in load_templates()]
    for family in ("copilot-index-default", "starcoder", "qwen2.5-coder", "deepseek-coder", "codellama"):
        assert family in names
        template = template_named(family)
        assert template.supports_fim and template.stop
        assert template.format.index("{prefix}") < template.format.index("{suffix}")
    assert not template_named("plain").supports_fim


@pytest.mark.parametrize(
    ("model", "tokens", "expected"),
    [
        ("bigcode/starcoder2-3b", (), "starcoder"),
        ("Qwen/Qwen2.5-Coder-0.5B", (), "qwen2.5-coder"),
        ("deepseek-ai/deepseek-coder-1.3b-base", (), "deepseek-coder"),
        ("codellama/CodeLlama-7b-hf", (), "codellama"),
        ("/models/mine", ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"), "starcoder"),
        ("/models/other", ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"), "deepseek-coder"),
        ("gpt2", ("hello",), "plain"),
    ],
)
def test_template_detection_by_name_then_vocabulary(model, tokens, expected):
    assert template_for(model, FakeTokenizer(*tokens)).name == expected


def test_config_entry_names_the_template_and_model_type_is_the_last_resort():
    config = SimpleNamespace(fim_template="copilot-index-default", model_type="llama")
    assert template_for("/anywhere", FakeTokenizer(), config).name == "copilot-index-default"
    assert template_for("/anywhere", FakeTokenizer(), SimpleNamespace(model_type="qwen2")).name == "qwen2.5-coder"


def test_prompt_formats_keep_user_braces_and_codellama_spacing():
    code = "x = {'a': '{suffix}'}\n"
    assert template_named("starcoder").prompt(code, "y\n") == f"<fim_prefix>{code}<fim_suffix>y\n<fim_middle>"
    assert template_named("codellama").prompt("a", "b") == "<PRE> a <SUF>b <MID>"


def test_missing_local_directory_is_one_clear_sentence(tmp_path):
    with pytest.raises(ModelNotFoundError) as error:
        load_generator(str(tmp_path / "nope"))
    message = str(error.value)
    assert ".copilot-index.toml" in message and message.count(". ") == 0 and message.endswith(".")
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_source(tmp_path)


def test_offline_hub_id_is_not_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelNotFoundError) as error:
        load_generator("someone/not-a-cached-model")
    assert "not found locally" in str(error.value) and "HF_HUB_OFFLINE" in str(error.value)


def test_missing_adapter_names_the_setting(tmp_path):
    from copilot_index.server.model.loader import attach_adapter

    with pytest.raises(ModelNotFoundError, match="adapter"):
        attach_adapter(object(), str(tmp_path / "no-adapter"))


def test_dtype_auto_follows_the_cpu_and_bfloat16_generates(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    flags = open("/proc/cpuinfo").read()
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    assert cpu_has_bf16() == native
    assert resolve_dtype("auto") == (torch.bfloat16 if native else torch.float32)
    assert resolve_dtype("float32") == torch.float32 and resolve_dtype(torch.bfloat16) == torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be auto"):
        resolve_dtype("int3")
    generator = load_generator(tiny_model_dir, dtype="bfloat16")
    assert generator.model.dtype == torch.bfloat16
    result = complete(generator, "def add(a, b):\n    return ", max_new_tokens=8, ignore_stop=True)
    assert result.tokens == 8 and result.stop_reason == "max_tokens"


def test_loader_puts_a_peft_adapter_on_top(tiny_model_dir, tmp_path):  # type: ignore[no-untyped-def]
    from peft import LoraConfig, get_peft_model

    base = load_generator(tiny_model_dir)
    adapted = get_peft_model(base.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    adapted.save_pretrained(tmp_path / "adapter")
    generator = load_generator(tiny_model_dir, adapter=tmp_path / "adapter")
    assert generator.adapter == str(tmp_path / "adapter")
    assert type(generator.model).__name__.startswith("Peft")
    assert generator.template.name == "copilot-index-default"
    result = complete(generator, "import os\n", "\n", max_new_tokens=4)
    assert result.tokens <= 4

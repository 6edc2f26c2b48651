"""GGUF LoRA export: a peft adapter written for a GGUF base loads in llama.cpp next to the base file and
computes what transformers + peft compute. The base is the shipped default model written as a GGUF
(float32 for the exact check, Q8_0 for the trained one, imported with `import-model` as `train-adapter`
would train on it)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from gguf_model import write_gguf  # noqa: E402  (the shipped default model written as a GGUF)

from copilot_index.conventions.adapter.gguf_lora import (
    KEY_BASE_SHA256,
    GgufLoraError,
    check_lora_for_base,
    export_gguf_lora,
    read_gguf,
)
from copilot_index.conventions.adapter.gguf_lora_import import import_gguf_lora
from copilot_index.conventions.adapter.training import AdapterArgs, train_lora, wrap_with_lora
from copilot_index.server.model.gguf_import import import_gguf
from copilot_index.server.model.llama_cpp import LlamaCppBackend
from copilot_index.server.model.loader import LoadedGenerator, load_generator

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CODE = "def add(a, b):\n    return a + b\n\nclass Cart:\n    def __init__(self):\n"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Two torch threads on two busy cores are many times slower than one (measured 0.7 s against 0.09 s a step)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bases")
    write_gguf(folder / "default.f32.gguf")
    write_gguf(folder / "default.q8.gguf", gguf.GGMLQuantizationType.Q8_0)
    import_gguf(folder / "default.q8.gguf", folder / "imported-q8")
    return {"f32": folder / "default.f32.gguf", "q8": folder / "default.q8.gguf", "imported": folder / "imported-q8"}


@cache
def _default() -> LoadedGenerator:
    return load_generator(None)


def _fresh_default() -> torch.nn.Module:
    """A copy of the shipped default model in float32 (peft changes the model it wraps)."""
    return copy.deepcopy(_default().model).float()


def _peft(model: torch.nn.Module, **options: object) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    options = {"r": 4, "lora_alpha": 12, "target_modules": list(ALL_LINEAR), "init_lora_weights": False, **options}
    return get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **options))  # type: ignore[arg-type]


def _ids() -> list[int]:
    return _default().tokenizer(CODE).input_ids


@pytest.mark.parametrize("options", [{}, {"use_rslora": True, "alpha_pattern": {"down_proj": 3}}],
                         ids=["lora", "rslora-with-alpha-pattern"])
def test_the_exported_lora_computes_what_peft_computes(bases: dict[str, Path], tmp_path: Path, options: dict) -> None:
    peft = _peft(_fresh_default(), **options)
    peft.save_pretrained(str(tmp_path / "adapter"))
    exported = export_gguf_lora(tmp_path / "adapter", bases["f32"], tmp_path / "adapter.gguf")
    assert exported.tensors == 4 * len(ALL_LINEAR) and exported.rank == 4 and exported.alpha == 12.0
    ids = _ids()
    with torch.no_grad():
        expected = peft(torch.tensor([ids])).logits[0, -1].numpy()
        with peft.disable_adapter():
            plain = peft(torch.tensor([ids])).logits[0, -1].numpy()
    got = LlamaCppBackend(bases["f32"], lora_path=exported.path).next_logits(ids)
    base = LlamaCppBackend(bases["f32"]).next_logits(ids)
    # The adapter moves the logits by several units; llama.cpp with it lands where peft does, as close as
    # llama.cpp's float32 base is to transformers' (its KV cache is float16).
    assert np.abs(expected - plain).max() > 2.0
    assert np.abs(got - expected).max() < 0.05 and np.abs(base - plain).max() < 0.05


def _greedy(next_logits, ids: list[int], steps: int) -> list[int]:  # type: ignore[no-untyped-def]
    out: list[int] = []
    for _ in range(steps):
        out.append(int(np.argmax(next_logits(ids + out))))
    return out


def test_a_trained_lora_writes_the_same_greedy_tokens_through_llama_cpp(bases: dict[str, Path], tmp_path: Path) -> None:
    generator = load_generator(str(bases["imported"]))
    tokenizer = generator.tokenizer
    prompt = tokenizer("def frobnicate(widget):\n", add_special_tokens=False).input_ids
    target = tokenizer("    return widget.quux_factor * 7 + widget.zorp\n", add_special_tokens=False).input_ids
    args = AdapterArgs(rank=8, alpha=16, dropout=0.0, learning_rate=5e-3, batch_size=1, max_steps=30, epochs=30)
    peft = wrap_with_lora(generator.model, args)
    outcome = train_lora(peft, [(prompt, target)], args, pad_id=0, work_dir=tmp_path / "work")
    assert outcome.steps == 30 and outcome.final_loss < outcome.first_loss / 4
    peft.save_pretrained(str(tmp_path / "adapter"))
    exported = export_gguf_lora(tmp_path / "adapter", bases["q8"], tmp_path / "adapter.gguf")

    def peft_logits(ids: list[int]) -> np.ndarray:
        with torch.no_grad():
            return peft(torch.tensor([ids])).logits[0, -1].numpy()

    steps = len(target)
    through_peft = _greedy(peft_logits, prompt, steps)
    through_llama = _greedy(LlamaCppBackend(bases["q8"], lora_path=exported.path).next_logits, prompt, steps)
    without = _greedy(LlamaCppBackend(bases["q8"]).next_logits, prompt, steps)
    # Q8_0 weights (activations quantized to 8 bits as well) still give every greedy token: the learned line.
    assert through_llama == through_peft == target
    assert without != target


def test_the_file_is_a_llama_cpp_lora_that_names_its_base(bases: dict[str, Path], tmp_path: Path) -> None:
    _peft(_fresh_default(), target_modules=["q_proj", "v_proj"]).save_pretrained(str(tmp_path / "a"))
    exported = export_gguf_lora(tmp_path / "a", bases["f32"], tmp_path / "a.gguf")
    reader = gguf.GGUFReader(exported.path)
    value = {key: reader.fields[key].contents() for key in reader.fields}
    assert value["general.type"] == "adapter" and value["adapter.type"] == "lora"
    assert value["general.architecture"] == "llama" and value["adapter.lora.alpha"] == 12.0
    assert value["general.base_model.0.name"] == "default.f32" and value[KEY_BASE_SHA256] == exported.base_sha256
    shapes = {t.name: [int(n) for n in t.shape] for t in reader.tensors}
    assert shapes["blk.0.attn_q.weight.lora_a"] == [256, 4] and shapes["blk.0.attn_q.weight.lora_b"] == [4, 256]
    assert len(shapes) == 4 * 2 * 2  # 4 layers, q and v, A and B
    header = read_gguf(Path(exported.path), "LoRA adapter")
    assert header.get("adapter.type") == "lora" and header.shapes == {k: tuple(v) for k, v in shapes.items()}
    check_lora_for_base(Path(exported.path), bases["f32"])  # its own base: accepted


def test_what_a_gguf_lora_cannot_carry_is_refused_in_one_sentence(bases: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(GgufLoraError, match="is not a peft adapter folder"):
        export_gguf_lora(tmp_path / "nothing", bases["f32"], tmp_path / "out.gguf")
    _peft(_fresh_default(), use_dora=True).save_pretrained(str(tmp_path / "dora"))
    with pytest.raises(GgufLoraError, match="is a DoRA adapter"):
        export_gguf_lora(tmp_path / "dora", bases["f32"], tmp_path / "out.gguf")
    _peft(_fresh_default(), target_modules=["embed_tokens", "q_proj"]).save_pretrained(
        str(tmp_path / "embedding"))
    with pytest.raises(GgufLoraError, match="also holds embedding LoRA"):
        export_gguf_lora(tmp_path / "embedding", bases["f32"], tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists() and not list(tmp_path.glob(".out.gguf.*"))


def test_an_adapter_trained_on_another_model_is_refused_with_both_ids(bases: dict[str, Path], tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    other = LlamaForCausalLM(LlamaConfig(vocab_size=8192, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=4))
    other.name_or_path = other.config._name_or_path = "someone/other-model"
    _peft(other).save_pretrained(str(tmp_path / "other"))
    adapter_config = json.loads((tmp_path / "other" / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == "someone/other-model"
    with pytest.raises(GgufLoraError, match=r"trained on 'someone/other-model', not on 'default.f32' \(sha256 \w{12}\)"):
        export_gguf_lora(tmp_path / "other", bases["f32"], tmp_path / "out.gguf")


def test_a_damaged_lora_file_is_named(bases: dict[str, Path], tmp_path: Path) -> None:
    _peft(_fresh_default(), target_modules=["q_proj"]).save_pretrained(str(tmp_path / "a"))
    exported = Path(export_gguf_lora(tmp_path / "a", bases["f32"], tmp_path / "a.gguf").path)
    exported.write_bytes(exported.read_bytes()[:200])
    with pytest.raises(GgufLoraError, match=r"LoRA adapter .*a\.gguf is damaged or incomplete"):
        check_lora_for_base(exported, bases["f32"])


@pytest.mark.parametrize("options", [{}, {"use_rslora": True, "alpha_pattern": {"down_proj": 3}}],
                         ids=["lora", "rslora-with-alpha-pattern"])
def test_a_gguf_lora_imports_back_as_the_peft_adapter_it_was(bases: dict[str, Path], tmp_path: Path, options: dict) -> None:
    """`train-adapter` scores the default model as served (the base with a GGUF LoRA) through transformers:
    the GGUF LoRA read back into peft files computes what the adapter it was written from computes."""
    from peft import PeftModel

    peft = _peft(_fresh_default(), **options)
    peft.save_pretrained(str(tmp_path / "adapter"))
    export_gguf_lora(tmp_path / "adapter", bases["f32"], tmp_path / "adapter.gguf")
    folder = import_gguf_lora(tmp_path / "adapter.gguf", bases["f32"], bases["imported"], tmp_path / "imported")
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["r"] == 4 and sorted(config["target_modules"]) == sorted(ALL_LINEAR)
    again = PeftModel.from_pretrained(_fresh_default(), str(folder))
    ids = torch.tensor([_ids()])
    with torch.no_grad():
        expected, got = peft(ids).logits[0, -1].numpy(), again(ids).logits[0, -1].numpy()
        with again.disable_adapter():
            plain = again(ids).logits[0, -1].numpy()
    assert np.abs(expected - plain).max() > 2.0 and np.abs(got - expected).max() < 1e-3
    # Written out again, it is the same GGUF LoRA (the q/k row order and the scale survive the round trip).
    export_gguf_lora(folder, bases["f32"], tmp_path / "again.gguf")
    first, second = (gguf.GGUFReader(tmp_path / name).tensors for name in ("adapter.gguf", "again.gguf"))
    assert [t.name for t in first] == [t.name for t in second]
    assert all(np.allclose(a.data, b.data, atol=1e-6) for a, b in zip(first, second, strict=True))


def test_a_lora_for_another_base_or_a_damaged_one_is_not_imported(bases: dict[str, Path], tmp_path: Path) -> None:
    peft = _peft(_fresh_default())
    peft.save_pretrained(str(tmp_path / "adapter"))
    export_gguf_lora(tmp_path / "adapter", bases["f32"], tmp_path / "adapter.gguf")
    with pytest.raises(GgufLoraError, match="was made for the base model"):
        import_gguf_lora(tmp_path / "adapter.gguf", bases["q8"], bases["imported"], tmp_path / "out")
    (tmp_path / "broken.gguf").write_bytes((tmp_path / "adapter.gguf").read_bytes()[:200])
    with pytest.raises(GgufLoraError, match="damaged or incomplete"):
        import_gguf_lora(tmp_path / "broken.gguf", bases["f32"], bases["imported"], tmp_path / "out")
    assert not (tmp_path / "out").exists()

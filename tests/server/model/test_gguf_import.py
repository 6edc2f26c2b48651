"""`copilot-index import-model`: a real GGUF file, written with the `gguf` package from the shipped
default model, is imported and must compute what the original computes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch

from copilot_index.server.model.gguf_import import GgufImportError, import_gguf
from copilot_index.server.model.loader import ModelNotFoundError, default_model_dir, load_generator, resolve_source

LAYER_TENSORS = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def _permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """The rotary-embedding row order llama.cpp stores q and k in (transformers undoes it on load)."""
    return weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def write_gguf(path: Path, quantization: gguf.GGMLQuantizationType | None = None) -> None:
    """The default model as a llama.cpp-style GGUF: llama metadata, a byte-level BPE vocabulary with its
    merges, and the weights (2-D ones quantized when `quantization` is given)."""
    generator = load_generator(None)
    config, tokenizer = generator.model.config, generator.tokenizer
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(config.head_dim)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    spec = json.loads((default_model_dir() / "tokenizer.json").read_text(encoding="utf-8"))
    tokens = [""] * config.vocab_size
    for token, index in spec["model"]["vocab"].items():
        tokens[index] = token
    special = {entry["id"] for entry in spec["added_tokens"] if entry["special"]}
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if i in special else 1 for i in range(len(tokens))])
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]])
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_pad_token_id(tokenizer.pad_token_id)
    state = {k: v.float().numpy() for k, v in generator.model.state_dict().items()}
    tensors = {"token_embd.weight": state["model.embed_tokens.weight"], "output_norm.weight": state["model.norm.weight"]}
    for layer in range(config.num_hidden_layers):
        for hf_name, gguf_name in LAYER_TENSORS.items():
            weight = state[f"model.layers.{layer}.{hf_name}.weight"]
            if gguf_name == "attn_q":
                weight = _permute(weight, config.num_attention_heads)
            elif gguf_name == "attn_k":
                weight = _permute(weight, config.num_key_value_heads)
            tensors[f"blk.{layer}.{gguf_name}.weight"] = weight
    for name, weight in tensors.items():
        if quantization is not None and weight.ndim == 2:
            writer.add_tensor(name, gguf.quants.quantize(weight, quantization), raw_dtype=quantization)
        else:
            writer.add_tensor(name, np.ascontiguousarray(weight))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _logits(model: torch.nn.Module, tokenizer, text: str) -> torch.Tensor:  # type: ignore[no-untyped-def]
    ids = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        return model(ids).logits[0].float()


CODE = "def add(a, b):\n    return a + b\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n"


def test_a_float_gguf_imports_to_the_same_model(tmp_path: Path) -> None:
    write_gguf(tmp_path / "default.f32.gguf")
    imported = import_gguf(tmp_path / "default.f32.gguf", tmp_path / "imported")
    assert imported.architecture == "llama" and imported.vocabulary == 8192
    original, loaded = load_generator(None), load_generator(imported.path)
    # The vocabulary and merges came back from the file: the same text gives the same ids.
    assert loaded.tokenizer(CODE).input_ids == original.tokenizer(CODE).input_ids
    assert loaded.tokenizer.eos_token == original.tokenizer.eos_token
    # Weights stored in float32 come back exactly; bf16 weights widened to f32 lose nothing.
    torch.testing.assert_close(_logits(loaded.model, loaded.tokenizer, CODE),
                               _logits(original.model.float(), original.tokenizer, CODE), atol=1e-4, rtol=1e-4)
    assert not (tmp_path / "imported" / "config.json").read_text().count("quantization_config")


def test_a_quantized_gguf_is_de_quantized_and_trains_a_lora(tmp_path: Path) -> None:
    write_gguf(tmp_path / "default.q8.gguf", gguf.GGMLQuantizationType.Q8_0)
    imported = import_gguf(tmp_path / "default.q8.gguf", tmp_path / "q8")
    original, loaded = load_generator(None), load_generator(imported.path)
    a = _logits(loaded.model, loaded.tokenizer, CODE)
    b = _logits(original.model.float(), original.tokenizer, CODE)
    # Q8_0 rounds every weight to 8 bits: close, not equal, and the same next-token choices.
    assert not torch.equal(a, b)
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9
    from peft import LoraConfig, get_peft_model

    lora = get_peft_model(loaded.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    ids = loaded.tokenizer(CODE, return_tensors="pt").input_ids
    lora(input_ids=ids, labels=ids).loss.backward()
    assert any(p.grad is not None for n, p in lora.named_parameters() if "lora_" in n)


def test_bad_inputs_get_one_sentence_and_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(GgufImportError, match="does not exist"):
        import_gguf(tmp_path / "missing.gguf", tmp_path / "out")
    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(GgufImportError, match="not a GGUF file"):
        import_gguf(tmp_path / "fake.gguf", tmp_path / "out")
    truncated = tmp_path / "truncated.gguf"
    write_gguf(truncated)
    truncated.write_bytes(truncated.read_bytes()[:4096])
    with pytest.raises(GgufImportError, match="could not be read"):
        import_gguf(truncated, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(GgufImportError, match="not an empty folder"):
        import_gguf(truncated, tmp_path / "taken")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    with pytest.raises(ModelNotFoundError, match="import-model"):
        resolve_source(str(tmp_path / "default.gguf"))


def test_the_cli_imports_and_reports_json(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m.gguf", gguf.GGMLQuantizationType.Q8_0)
    cli = [sys.executable, "-m", "copilot_index.server.cli"]
    done = subprocess.run([*cli, "import-model", str(tmp_path / "m.gguf"), str(tmp_path / "m"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["path"] == str(tmp_path / "m") and report["architecture"] == "llama"
    assert len(report["source_sha256"]) == 64 and report["parameters"] > 1_000_000
    again = subprocess.run([*cli, "import-model", str(tmp_path / "m.gguf"), str(tmp_path / "m")],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "not an empty folder" in again.stderr

"""The shipped default model written as a llama.cpp-style GGUF file, for tests of GGUF import, llama.cpp and
GGUF LoRA: small, real, and made by the project itself."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np

from copilot_index.server.model.loader import default_model_dir, load_generator

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

"""`copilot-index import-model`: a real GGUF file, written with the `gguf` package from the shipped
default model, is imported and must compute what the original computes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gguf
import pytest
import torch
from gguf_model import write_gguf

from copilot_index.server.model.gguf_import import GgufImportError, import_gguf
from copilot_index.server.model.loader import ModelNotFoundError, load_generator, resolve_source


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

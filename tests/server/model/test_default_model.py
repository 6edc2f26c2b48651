"""The shipped default model: loads offline, FIM prompts round-trip, generation stops where it should."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
import torch

from copilot_index.conventions.pretrain.fim import SPECIAL_TOKENS
from copilot_index.server.model.generation import build_prompt, complete
from copilot_index.server.model.loader import LoadedGenerator, default_model_dir, load_generator
from copilot_index.server.model.templates import template_named

FIM_PREFIX = "def add(a, b):\n    "
FIM_SUFFIX = "\n\n\nprint(add(1, 2))\n"


@pytest.fixture(scope="module")
def shipped(monkeypatch_module) -> LoadedGenerator:
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    return load_generator()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_default_model_ships_as_small_safetensors_directory():
    folder = default_model_dir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json",
                 "MODEL_CARD.md", "training_metrics.json"):
        assert (folder / name).is_file(), name
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert size < 40_000_000


def test_shipped_model_loads_offline_with_its_template(shipped):
    config = json.loads((default_model_dir() / "config.json").read_text())
    assert shipped.template.name == config["fim_template"]
    assert shipped.template.name.startswith("copilot-index-default")
    assert shipped.template.supports_fim
    assert not shipped.model.training
    assert shipped.context_length >= 512


def test_fim_prompt_round_trips_with_single_token_sentinels(shipped):
    tokenizer = shipped.tokenizer
    for token in SPECIAL_TOKENS:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1, token
    prompt = shipped.template.prompt(FIM_PREFIX, FIM_SUFFIX)
    ids = tokenizer(prompt)["input_ids"]
    assert tokenizer.decode(ids) == prompt
    vocab = tokenizer.get_vocab()
    for sentinel in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"):
        assert ids.count(vocab[sentinel]) == 1
    assert ids[0] == vocab["<|fim_prefix|>"]
    if shipped.template.prefix_last:  # SPM: the prompt ends with the prefix, the middle follows
        assert ids[1] == vocab["<|fim_suffix|>"] and tokenizer.decode(ids).endswith(FIM_PREFIX)
    else:
        assert ids[-1] == vocab["<|fim_middle|>"]


def test_fim_completion_is_text_without_special_tokens(shipped):
    result = complete(shipped, FIM_PREFIX, FIM_SUFFIX, max_new_tokens=24)
    assert result.tokens <= 24
    assert result.stop_reason in {"stop_token", "max_tokens"}
    assert not any(token in result.text for token in SPECIAL_TOKENS)
    line = complete(shipped, FIM_PREFIX, FIM_SUFFIX, single_line=True)
    assert "\n" not in line.text


def test_prefix_only_completion_continues_the_code(shipped):
    result = complete(shipped, "import os\nimport sys\n\n\ndef main():\n", use_fim=False,
                      single_line=True)
    assert "\n" not in result.text
    assert result.prompt_tokens > 0


class ScriptedModel(torch.nn.Module):
    """Emits a fixed sequence of token ids, one per forward call."""

    def __init__(self, script: list[int], vocab_size: int, runner_up: int | None = None) -> None:
        super().__init__()
        self.script, self.vocab_size, self.calls, self.runner_up = script, vocab_size, 0, runner_up

    def forward(self, input_ids, cache=None, use_cache=True, logits_to_keep=0):
        token = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        logits = torch.full((1, input_ids.shape[1], self.vocab_size), -1e9)
        if self.runner_up is not None:
            logits[0, -1, self.runner_up] = -1.0
        logits[0, -1, token] = 0.0
        return SimpleNamespace(logits=logits, cache=self.calls)


def scripted(shipped: LoadedGenerator, pieces: list[str], runner_up: str | None = None) -> LoadedGenerator:
    """A generator whose model writes `pieces`, one token each; `runner_up` is every step's
    second-best token."""
    vocab = shipped.tokenizer.get_vocab()

    def token(piece: str) -> int:
        return vocab[piece] if piece in vocab else shipped.tokenizer(piece)["input_ids"][0]

    model = ScriptedModel([token(p) for p in pieces], len(vocab), None if runner_up is None else token(runner_up))
    return LoadedGenerator(model, shipped.tokenizer, shipped.template, "scripted",
                           shipped.stop_ids, shipped.context_length)


def test_generation_stops_at_stop_tokens_which_never_leak(shipped):
    for stop in ("<|endoftext|>", "<|file_sep|>", "<|fim_prefix|>", "<|fim_pad|>"):
        generator = scripted(shipped, ["\n", "x", stop, "y"])  # the newline is the cursor's own (healed)
        result = complete(generator, "a = 1\n", "", max_new_tokens=10)
        assert result.stop_reason == "stop_token"
        assert result.tokens == 2 and result.text == "x"
        assert stop not in result.text and "y" not in result.text


def test_single_line_stops_at_newline_and_cancellation_stops_first(shipped):
    generator = scripted(shipped, ["\n", "x", "\n", "y"])
    result = complete(generator, "a = 1\n", "", single_line=True, max_new_tokens=10)
    assert (result.text, result.stop_reason) == ("x", "newline")
    generator = scripted(shipped, ["x", "y"])
    result = complete(generator, "a = 1\n", "", cancelled=lambda: True)
    assert (result.text, result.tokens, result.stop_reason) == ("", 0, "cancelled")


def test_whitespace_at_the_cursor_is_healed_in_fim_prompts_too(shipped):
    """Spaces at the cursor are left to the model (BPE joins them to the next word) and are not
    inserted twice. In PSM prompts a newline at the cursor stays, as line-aligned FIM samples
    begin there; in SPM prompts the middle continues the prefix, so the newline goes too."""
    prefix, suffix = "def area(r):\n    return 3.14 * ", " * r\n"
    for name, at_line_start in (("copilot-index-default", ""), ("copilot-index-default-spm", "\n")):
        generator = dataclasses.replace(shipped, template=template_named(name))
        ids, healed = build_prompt(generator, prefix, suffix, use_fim=True, budget=200)
        assert healed == " "
        assert shipped.tokenizer.decode(ids) == generator.template.prompt(prefix.rstrip(" "), suffix)
        assert build_prompt(generator, "x = 1\n", "y = 2\n", use_fim=True, budget=200)[1] == at_line_start
        generator = scripted(generator, [" r", "<|endoftext|>"])
        assert complete(generator, prefix, suffix, use_fim=True).text == "r"  # the space is already typed


def test_spm_prompts_hold_stop_tokens_until_there_is_text(shipped):
    """Nothing marks where an SPM middle starts, so a stop before any text is not taken."""
    spm = dataclasses.replace(shipped, template=template_named("copilot-index-default-spm"))
    psm = dataclasses.replace(shipped, template=template_named("copilot-index-default"))
    script = ["<|endoftext|>", "<|endoftext|>", "x", "<|endoftext|>", "y"]
    # The first newline is the cursor's own (healed off the prompt), so it is not shown again.
    assert complete(scripted(spm, script, runner_up="\n"), "a = 1\n", "b = 2\n").text == "\nx"
    assert complete(scripted(psm, script, runner_up="\n"), "a = 1\n", "b = 2\n").text == ""
    assert complete(scripted(spm, script, runner_up="\n"), "a = 1\n", "", use_fim=False).text == ""


def test_the_shipped_model_carries_its_own_fim_measurement(shipped):
    """The engine reads whether FIM helped on held-out files (completion.fim = "auto") from the card's metrics."""
    metrics = json.loads((default_model_dir() / "training_metrics.json").read_text())
    assert shipped.fim_helps is metrics["evaluation"]["fim_beats_prefix_only"]

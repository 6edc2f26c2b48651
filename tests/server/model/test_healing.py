"""Token healing: the prompt's partial last token is cut off, and generation must write it back first."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from copilot_index.server.model.generation import build_prompt, complete, confidence
from copilot_index.server.model.healing import HealingConstraint, agrees, heal, visible_text
from copilot_index.server.model.loader import LoadedGenerator, load_generator


@pytest.fixture(scope="module")
def shipped() -> LoadedGenerator:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        return load_generator()


@pytest.mark.parametrize(
    ("prefix", "blanks", "kept", "healed"),
    [
        ("x = 1\n    ", " \t\n", "x = 1", "\n    "),  # a line start: newline and indentation
        ("x = 1\n    ", " \t", "x = 1\n", "    "),  # PSM prompts keep the newline
        ("return 3.14 * ", " \t", "return 3.14 *", " "),
        ("if x:\n    ret", " \t\n", "if x:", "\n    ret"),  # half a word, and the blanks before it
        ("y = self.na", " \t", "y = self.", "na"),
        ("a = 1\n", " \t", "a = 1\n", ""),  # a word before a newline is not being typed
        ("call(", " \t\n", "call(", ""),
        ("   ", " \t\n", "   ", ""),  # nothing would be left
        ("word", " \t\n", "word", ""),
    ],
)
def test_heal_cuts_the_word_being_typed_and_the_blanks_before_it(prefix, blanks, kept, healed):
    assert heal(prefix, blanks) == (kept, healed)


def test_a_token_agrees_when_it_writes_the_healed_text_without_deepening_the_indentation():
    assert agrees("\n", "\n    ") and agrees("\n    ", "\n    ") and agrees("\n    def", "\n    ")
    assert not agrees("\n        ", "\n    ")  # more indentation than the cursor's
    assert agrees("\n    ", "\n") and agrees("\n\tif", "\n")  # at a line start the model indents
    assert not agrees("x", "\n") and not agrees("", "\n")
    assert agrees(" return", " ret") and agrees("ret", "ret") and agrees("return", "ret")
    assert not agrees(" ret", "ret")


def test_visible_text_drops_what_the_prompt_gave_up():
    assert visible_text("\n    return x", "\n    ret") == "urn x"
    assert visible_text("\n  ", "\n    ") == ""
    assert visible_text("anything", "") == "anything"


class PreferenceModel(torch.nn.Module):
    """Ranks the same tokens first at every step: what a greedy model picks shows the constraint."""

    def __init__(self, ranked: list[int], vocab_size: int) -> None:
        super().__init__()
        self.logits = torch.full((vocab_size,), -1e9)
        for rank, token in enumerate(ranked):
            self.logits[token] = -float(rank)

    def forward(self, input_ids, cache=None, use_cache=True, logits_to_keep=0):
        return SimpleNamespace(logits=self.logits.expand(1, input_ids.shape[1], -1).clone(), cache=None)


def preferring(shipped: LoadedGenerator, pieces: list[str]) -> LoadedGenerator:
    ids = []
    for piece in pieces:
        encoded = shipped.tokenizer(piece, add_special_tokens=False)["input_ids"]
        assert len(encoded) == 1, f"{piece!r} is not one token of the shipped tokenizer"
        ids.append(encoded[0])
    model = PreferenceModel(ids, len(shipped.tokenizer))
    return LoadedGenerator(model, shipped.tokenizer, shipped.template, "preferring",
                           shipped.stop_ids, shipped.context_length)


def test_generation_writes_the_healed_text_before_anything_else(shipped):
    """The model would rather go on with the previous line (".") than start the next one; healing
    holds it to the newline, indentation and partial word at the cursor, and only then is it free."""
    prefix = "def main():\n    ret"
    assert build_prompt(shipped, prefix, "", use_fim=False, budget=100)[1] == "\n    ret"
    generator = preferring(shipped, [".", "return", "\n    ", "\n"])
    result = complete(generator, prefix, "", use_fim=False, max_new_tokens=3)
    assert result.text == "urn.", result  # "\n    " then "return" (healed), then the favourite
    unhealed = complete(generator, "def main():\n    ret(", "", use_fim=False, max_new_tokens=2)
    assert unhealed.text == ".."  # nothing to heal: the favourite from the start


def test_confidence_is_the_geometric_mean_probability_of_the_tokens_the_model_chose(shipped):
    generator = preferring(shipped, [".", "return", "\n    ", "\n"])
    free = 1 / sum(math.exp(-rank) for rank in range(4))  # p(".") when the model may choose anything
    healed = complete(generator, "def main():\n    ret", "", use_fim=False, max_new_tokens=3)
    assert healed.text == "urn." and healed.confidence == pytest.approx(free, rel=1e-4)  # the healed text: no vote
    unhealed = complete(generator, "def main():\n    ret(", "", use_fim=False, max_new_tokens=2)
    assert unhealed.confidence == pytest.approx(free, rel=1e-4)
    assert confidence([]) is None and confidence([math.log(0.25), 0.0]) == pytest.approx(0.5)


def test_the_constraint_lets_a_stop_through_when_allowed_and_gives_way_when_nothing_agrees(shipped):
    stop = next(iter(shipped.stop_ids))
    logits = torch.zeros(len(shipped.tokenizer))
    logits[stop] = 10.0
    held = HealingConstraint(shipped.tokenizer, "\n    ").apply(logits, "")
    assert held[stop] == float("-inf") and torch.isfinite(held).any()
    allowed = HealingConstraint(shipped.tokenizer, "\n    ", frozenset({stop})).apply(logits, "")
    assert int(allowed.argmax()) == stop
    assert torch.equal(HealingConstraint(shipped.tokenizer, "\n    ").apply(logits, "\n    "), logits)  # written
    nothing = HealingConstraint(shipped.tokenizer, "\u2603", frozenset({stop})).apply(logits, "")
    assert torch.equal(nothing, logits)  # no token can spell it: unconstrained, not stopped

"""Fill-in-the-middle: the default model's special tokens and the training-sample transform.

Samples are laid out prefix-suffix-middle (PSM), as StarCoder did::

    <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>{middle}<|endoftext|>

which is exactly the ``copilot-index-default`` entry of ``fim_templates.toml``: at inference the
prompt stops after ``<|fim_middle|>`` and the model writes the middle, then ``<|endoftext|>``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

END_OF_TEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
FILE_SEPARATOR = "<|file_sep|>"
FIM_PAD = "<|fim_pad|>"

# Order fixes the ids: <|endoftext|> is 0, <|fim_prefix|> 1, ... <|fim_pad|> 5.
SPECIAL_TOKENS = (END_OF_TEXT, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FILE_SEPARATOR, FIM_PAD)


@dataclass(frozen=True)
class SpecialIds:
    """Token ids of the special tokens in one tokenizer."""

    end_of_text: int
    fim_prefix: int
    fim_middle: int
    fim_suffix: int
    file_separator: int
    pad: int

    @classmethod
    def from_vocab(cls, vocab: dict[str, int]) -> SpecialIds:
        return cls(*(vocab[token] for token in SPECIAL_TOKENS))


@dataclass(frozen=True)
class FimSplit:
    prefix: str
    middle: str
    suffix: str


def split_for_fim(text: str, rng: random.Random, line_aligned_rate: float = 0.5) -> FimSplit:
    """Cut `text` at two random points into prefix, middle and suffix.

    With probability `line_aligned_rate` both cuts are moved to line starts, so the middle is a
    run of whole lines (the next-line and multi-line completions an editor asks for); otherwise
    they are character positions, which teaches completion from inside a line.
    """
    if len(text) < 2:
        return FimSplit(text, "", "")
    a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    if rng.random() < line_aligned_rate:
        a = text.rfind("\n", 0, a) + 1
        b = text.rfind("\n", 0, b) + 1
        if a == b:
            end = text.find("\n", b)
            b = len(text) if end < 0 else end + 1
    return FimSplit(text[:a], text[a:b], text[b:])


def psm_ids(
    prefix: list[int], middle: list[int], suffix: list[int], ids: SpecialIds
) -> list[int]:
    """Token ids of one prefix-suffix-middle sample, ending with <|endoftext|>."""
    return (
        [ids.fim_prefix, *prefix, ids.fim_suffix, *suffix, ids.fim_middle, *middle]
        + [ids.end_of_text]
    )


def trim_sample(sample: list[int], max_tokens: int) -> list[int]:
    """Cut a sample to `max_tokens`, keeping its start (the sentinels come first in PSM)."""
    return sample[:max_tokens]

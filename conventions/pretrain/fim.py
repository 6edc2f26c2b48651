"""Fill-in-the-middle: the default model's special tokens and the training-sample transform.

Two sample layouts, each matching one entry of ``fim_templates.toml`` (the prompt is the sample
up to where the middle starts; the model writes the middle, then ``<|endoftext|>``):

- prefix-suffix-middle (PSM, ``copilot-index-default``), as StarCoder did::

    <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>{middle}<|endoftext|>

- suffix-prefix-middle (SPM, ``copilot-index-default-spm``), as in Bavarian et al. 2022 and
  StarCoder's SPM variant: the middle directly continues the prefix, so a small model reuses
  what it learned left to right and reads the suffix as earlier context::

    <|fim_prefix|><|fim_suffix|>{suffix}<|fim_middle|>{prefix}{middle}<|endoftext|>
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


FIM_ORDERS = {"psm": "copilot-index-default", "spm": "copilot-index-default-spm"}


def split_for_fim(
    text: str, rng: random.Random, line_aligned_rate: float = 0.5, short_middle_rate: float = 0.0
) -> FimSplit:
    """Cut `text` at two random points into prefix, middle and suffix.

    With probability `line_aligned_rate` both cuts are moved to line starts, so the middle is a
    run of whole lines (the next-line and multi-line completions an editor asks for); otherwise
    they are character positions, which teaches completion from inside a line. With probability
    `short_middle_rate` the middle is editor-sized instead (see `short_split`).
    """
    if len(text) < 2:
        return FimSplit(text, "", "")
    if short_middle_rate and rng.random() < short_middle_rate:  # no draw at 0: older runs replay
        return short_split(text, rng, rng.random() < line_aligned_rate)
    a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    if rng.random() < line_aligned_rate:
        a = text.rfind("\n", 0, a) + 1
        b = text.rfind("\n", 0, b) + 1
        if a == b:
            end = text.find("\n", b)
            b = len(text) if end < 0 else end + 1
    return FimSplit(text[:a], text[a:b], text[b:])


def short_split(text: str, rng: random.Random, line_aligned: bool) -> FimSplit:
    """A middle the size an editor asks for: one to three whole lines starting at a line start
    (`line_aligned`), or the rest of a line from a random point in it (sometimes one or two more
    lines), so the suffix starts right after the cursor's line."""
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n" and i + 1 < len(text)]
    line = rng.randrange(len(starts))
    a = starts[line]
    if not line_aligned:
        end_of_line = text.find("\n", a)
        end_of_line = len(text) if end_of_line < 0 else end_of_line
        a = rng.randint(a, max(a, end_of_line - 1))
    extra = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
    b = a
    for _ in range(extra + 1):
        end = text.find("\n", b)
        b = len(text) if end < 0 else end + 1
    if not line_aligned and b > a and text[b - 1] == "\n":
        b -= 1  # stop at the end of the line; the suffix starts with its newline
    return FimSplit(text[:a], text[a:b], text[b:])


def fim_ids(
    prefix: list[int], middle: list[int], suffix: list[int], ids: SpecialIds, order: str = "psm"
) -> list[int]:
    """Token ids of one FIM sample in `order` ("psm" or "spm"), ending with <|endoftext|>."""
    if order == "spm":
        return [ids.fim_prefix, ids.fim_suffix, *suffix, ids.fim_middle, *prefix, *middle,
                ids.end_of_text]
    return psm_ids(prefix, middle, suffix, ids)


def psm_ids(
    prefix: list[int], middle: list[int], suffix: list[int], ids: SpecialIds
) -> list[int]:
    """Token ids of one prefix-suffix-middle sample, ending with <|endoftext|>."""
    return (
        [ids.fim_prefix, *prefix, ids.fim_suffix, *suffix, ids.fim_middle, *middle]
        + [ids.end_of_text]
    )


def trim_parts(
    prefix: list[int], middle: list[int], suffix: list[int], room: int
) -> tuple[list[int], list[int], list[int]]:
    """Fit the three parts in `room` tokens, cutting far from the cursor first: the suffix's tail,
    then the prefix's head; the middle is cut only when nothing else is left."""
    excess = len(prefix) + len(middle) + len(suffix) - room
    if excess > 0:
        cut = min(excess, len(suffix))
        suffix, excess = suffix[: len(suffix) - cut], excess - cut
    if excess > 0:
        cut = min(excess, len(prefix))
        prefix, excess = prefix[cut:], excess - cut
    if excess > 0:
        middle = middle[: len(middle) - excess]
    return prefix, middle, suffix

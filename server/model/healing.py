"""Token healing: the prompt's last, partial token is cut off, and the model must write it back first.

Byte-level BPE joins a newline with the next line's indentation, a space with the word after
it, and the letters of a word, so a prompt that ends in bare whitespace or half a word ends at a
token boundary the model rarely saw in training (`ret` where it saw `return`). The prompt is
therefore cut back before the word being typed and the whitespace before it (`heal`), and while
the model writes that text back, only tokens that agree with it may be chosen
(`HealingConstraint`). Without the constraint a model may go on writing the previous line
(`.get(x)` after `y = z`), and that text would be shown at the cursor on the next line.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

import torch

_WORD_END = re.compile(r"[A-Za-z0-9_]{1,32}\Z")
_BY_FIRST: weakref.WeakKeyDictionary[Any, dict[str, list[tuple[int, str]]]] = weakref.WeakKeyDictionary()
_MASKS: weakref.WeakKeyDictionary[Any, dict[tuple[str, frozenset[int], int], torch.Tensor | None]] = (
    weakref.WeakKeyDictionary()
)
MAX_MASKS = 256  # kept per tokenizer (one per distinct healed text still to be written)


def heal(prefix: str, blanks: str) -> tuple[str, str]:
    """`prefix` without the word being typed at its end (a partial identifier or number) and the
    `blanks` before it, and what was cut; nothing is cut when nothing else would be left."""
    word = _WORD_END.search(prefix)
    stripped = prefix[: word.start() if word else len(prefix)].rstrip(blanks)
    return (stripped, prefix[len(stripped) :]) if stripped else (prefix, "")


def visible_text(generated: str, healed: str) -> str:
    """Generated text with what a healed prompt left out removed from its start."""
    if not healed:
        return generated
    if generated.startswith(healed):
        return generated[len(healed) :]
    if healed.startswith(generated):
        return ""
    return generated.lstrip("\n") if "\n" in healed else generated


def tokens_by_first_character(tokenizer: Any) -> dict[str, list[tuple[int, str]]]:
    """(id, text) of every token, by its text's first character, computed once per tokenizer: a
    token agrees with the healed text only if it starts with the same character."""
    found = _BY_FIRST.get(tokenizer)
    if found is None:
        found = {}
        texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))], skip_special_tokens=True)
        for i, text in enumerate(texts):
            if text:
                found.setdefault(text[0], []).append((i, text))
        _BY_FIRST[tokenizer] = found
    return found


def agrees(token: str, remaining: str) -> bool:
    """Whether a token may come next while `remaining` is still to be written: it is a piece of it,
    or all of it and more; but not more spaces after the spaces or tabs the user typed (the
    cursor's indentation is the user's, not the model's to deepen). At a line start (`remaining`
    ends in a newline) the line's indentation is the model's to write."""
    if not token:
        return False
    if remaining.startswith(token):
        return True
    if not token.startswith(remaining):
        return False
    return not (remaining[-1] in " \t" and token[len(remaining) : len(remaining) + 1] in (" ", "\t"))


def healing_mask(tokenizer: Any, remaining: str, allowed_anyway: frozenset[int], size: int) -> torch.Tensor | None:
    """Which of `size` logits may be chosen while `remaining` is still to be written; None when no
    token agrees with it (a tokenizer whose pieces cannot spell it), so nothing is constrained."""
    masks = _MASKS.setdefault(tokenizer, {})
    key = (remaining, allowed_anyway, size)
    if key not in masks:
        candidates = tokens_by_first_character(tokenizer).get(remaining[0], [])
        ids = [i for i, text in candidates if i < size and agrees(text, remaining)]
        mask = None
        if ids:
            mask = torch.zeros(size, dtype=torch.bool)
            mask[ids + [i for i in allowed_anyway if i < size]] = True
        if len(masks) >= MAX_MASKS:
            masks.clear()
        masks[key] = mask
    return masks[key]


class HealingConstraint:
    """Masks the logits so that generation begins with the healed text."""

    def __init__(self, tokenizer: Any, healed: str, allowed_anyway: frozenset[int] = frozenset()) -> None:
        self.tokenizer = tokenizer
        self.healed = healed
        self.allowed_anyway = allowed_anyway

    def remaining(self, generated_text: str) -> str:
        """What of the healed text is still to be written ("" once it is)."""
        if not self.healed or not self.healed.startswith(generated_text):
            return ""
        return self.healed[len(generated_text) :]

    def apply(self, logits: torch.Tensor, generated_text: str) -> torch.Tensor:
        """`logits` with every token that disagrees with the healed text set to -inf (stop tokens in
        `allowed_anyway` excepted)."""
        remaining = self.remaining(generated_text)
        if not remaining:
            return logits
        mask = healing_mask(self.tokenizer, remaining, self.allowed_anyway, logits.shape[-1])
        return logits if mask is None else logits.masked_fill(~mask, float("-inf"))

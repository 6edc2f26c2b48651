"""Greedy completion with a KV cache: FIM or prefix-only prompts, stop tokens, cancellation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .backend import confidence
from .healing import HealingConstraint, heal, visible_text
from .loader import LoadedGenerator

# Prompt characters kept per prompt token before tokenizing, so huge files are not tokenized whole.
CHARS_PER_TOKEN_BOUND = 8
SUFFIX_SHARE = 0.25


@dataclass(frozen=True)
class Completion:
    """Generated text and how generation ended."""

    text: str
    tokens: int
    stop_reason: str  # "stop_token", "newline", "max_tokens" or "cancelled"
    prompt_tokens: int
    seconds: float
    confidence: float | None = None
    """See `confidence`."""


def encode(generator: LoadedGenerator, text: str) -> list[int]:
    return generator.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]


def fit_context(
    generator: LoadedGenerator, prefix: str, suffix: str, budget: int
) -> tuple[str, str]:
    """The tail of `prefix` and head of `suffix` that fit in `budget` tokens together."""
    prefix = prefix[-budget * CHARS_PER_TOKEN_BOUND :]
    suffix = suffix[: budget * CHARS_PER_TOKEN_BOUND]
    suffix_ids = encode(generator, suffix) if suffix else []
    suffix_ids = suffix_ids[: min(len(suffix_ids), int(budget * SUFFIX_SHARE))]
    prefix_ids = encode(generator, prefix)
    keep = budget - len(suffix_ids)
    if len(prefix_ids) > keep:
        prefix = generator.tokenizer.decode(prefix_ids[len(prefix_ids) - keep :])
        prefix = prefix[prefix.find("\n") + 1 :] if "\n" in prefix else prefix
    if suffix_ids and len(suffix_ids) < len(encode(generator, suffix)):
        suffix = generator.tokenizer.decode(suffix_ids)
        suffix = suffix[: suffix.rfind("\n") + 1] if "\n" in suffix else suffix
    return prefix, suffix


def build_prompt(
    generator: LoadedGenerator, prefix: str, suffix: str, use_fim: bool, budget: int
) -> tuple[list[int], str]:
    """Prompt token ids, and the whitespace taken off the prompt's prefix end.

    A prefix-only prompt ending in whitespace (the cursor at a line start) is cut back to its
    last non-blank character: byte-level BPE joins a newline with the next line's indentation,
    so a prompt that ends in a bare newline is one the model never saw in training. The model
    then writes the newline and indentation itself (`healing.py` holds it to that), and that much
    is dropped from its output.
    """
    template = generator.template
    if use_fim and template.supports_fim:
        # Spaces or tabs at the cursor are cut back too (but not a newline, where line-aligned FIM
        # samples begin): BPE joins a space with the word after it, so a prompt that ends in one is a
        # token boundary the model rarely saw, and it answers with more whitespace or a comment.
        # With the prefix last (SPM) the middle continues the prefix as plain text does, so the
        # prompt is healed as a prefix-only one is.
        prefix, suffix = fit_context(generator, prefix, suffix, budget)
        kept, healed = heal(prefix, " \t\n" if template.prefix_last else " \t")
        return generator.tokenizer(template.prompt(kept, suffix), verbose=False)["input_ids"], healed
    prefix, _ = fit_context(generator, prefix, "", budget)
    kept, healed = heal(prefix, " \t\n")
    return generator.tokenizer(kept, verbose=False)["input_ids"], healed


def start_ids(generator: LoadedGenerator) -> list[int]:
    """One token to start from when the prompt is empty."""
    tokenizer = generator.tokenizer
    first = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return [first if first is not None else 0]


@torch.inference_mode()
def complete(
    generator: LoadedGenerator,
    prefix: str,
    suffix: str = "",
    *,
    max_new_tokens: int = 32,
    single_line: bool = False,
    use_fim: bool = True,
    max_prompt_tokens: int | None = None,
    ignore_stop: bool = False,
    cancelled: Callable[[], bool] | None = None,
) -> Completion:
    """Greedy completion between `prefix` and `suffix` (the suffix is used only with FIM).

    Stops at a stop token (never part of the text), at the first newline when `single_line`,
    after `max_new_tokens`, or before the next token once `cancelled()` is true.
    """
    started = time.perf_counter()
    budget = (max_prompt_tokens or generator.context_length - max_new_tokens) - 8
    ids, healed = build_prompt(generator, prefix, suffix, use_fim, max(16, budget))
    ids = ids or start_ids(generator)
    model = generator.model
    output = model(input_ids=torch.tensor([ids]), use_cache=True, logits_to_keep=1)

    def advance(token: int) -> torch.Tensor:
        nonlocal output
        output = model(input_ids=torch.tensor([[token]]), cache=output.cache, use_cache=True)
        return output.logits[0, -1]

    logprobs: list[float] = []
    text, generated, reason = decode_greedy(generator, healed, use_fim, max_new_tokens, single_line,
                                            output.logits[0, -1], advance, cancelled, ignore_stop, logprobs)
    return Completion(text, len(generated), reason, len(ids), time.perf_counter() - started, confidence(logprobs))


def decode_greedy(
    generator: LoadedGenerator,
    healed: str,
    use_fim: bool,
    max_new_tokens: int,
    single_line: bool,
    logits: torch.Tensor | None,
    advance: Callable[[int], torch.Tensor | None],
    cancelled: Callable[[], bool] | None = None,
    ignore_stop: bool = False,
    logprobs: list[float] | None = None,
) -> tuple[str, list[int], str]:
    """The greedy loop both runtimes share: (visible text, generated ids, stop reason).

    `logits` scores the first new token; `advance(token)` feeds a chosen token to the model and returns the
    next token's scores (None when it was cancelled meanwhile). Stops at a stop token (never part of the text),
    at the first newline when `single_line`, after `max_new_tokens`, or before the next token once `cancelled()`.
    `logprobs`, when given, receives the log-probability of each token chosen once the healed text is written
    back (the tokens that are the model's own choice), for `confidence`.
    """
    generated: list[int] = []
    reason, text, decoded = "max_tokens", "", ""
    # With the prefix last nothing marks where the middle starts, so a stop before any text is the
    # model taking the prompt's end for the middle's end: stops count once there is text.
    hold_stops = use_fim and generator.template.prefix_last and not ignore_stop
    stop_list = sorted(generator.stop_ids) if hold_stops else []
    healing = HealingConstraint(generator.tokenizer, healed, frozenset() if hold_stops else generator.stop_ids)
    for step in range(max_new_tokens):
        if logits is None or (cancelled is not None and cancelled()):
            reason = "cancelled"
            break
        if hold_stops and not text.strip():
            logits = logits.clone()
            logits[stop_list] = float("-inf")
        scores = healing.apply(logits, decoded)
        token = int(scores.argmax())
        if logprobs is not None and not healing.remaining(decoded):
            logprobs.append(float(scores[token].float() - torch.logsumexp(scores.float(), dim=-1)))
        if token in generator.stop_ids and not ignore_stop:
            reason = "stop_token"
            break
        generated.append(token)
        decoded = generator.tokenizer.decode(generated, skip_special_tokens=True)
        text = visible_text(decoded, healed)
        if single_line and "\n" in text:
            reason = "newline"
            break
        if step + 1 < max_new_tokens:
            logits = advance(token)
    if single_line:
        text = text.split("\n", 1)[0]
    return text, generated, reason

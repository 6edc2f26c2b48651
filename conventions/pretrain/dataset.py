"""Turn corpus files into packed training batches, about half of the samples in FIM order.

Each file is tokenized once and cut into windows a little shorter than the context. Every epoch
each window becomes either a plain left-to-right sample or, with probability `fim_rate`, a FIM
sample (PSM or SPM, `fim.py`) whose three parts are cut at character positions and tokenized
separately (as they will be at inference). With probability `context_rate` a sample is also led
by snippets of sibling files in the engine's file-separator layout (`repo_context.py`), so the
model learns to use retrieved context. Samples are shuffled and packed into rows of exactly
`context` tokens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerFast

from .fim import FILE_SEPARATOR, SpecialIds, fim_ids, split_for_fim, trim_parts
from .repo_context import SiblingIndex

# Room left in a window for the four FIM sentinels and for re-tokenization at the cut points.
WINDOW_SLACK = 16


@dataclass(frozen=True)
class Window:
    """A run of tokens of one file, with the character span it covers."""

    file: int
    start: int
    end: int
    ids: np.ndarray
    ends_file: bool


@dataclass
class TokenizedCorpus:
    texts: list[str]
    windows: list[Window]

    @property
    def tokens(self) -> int:
        return sum(len(w.ids) for w in self.windows)


def special_ids(tokenizer: PreTrainedTokenizerFast) -> SpecialIds:
    return SpecialIds.from_vocab(tokenizer.get_vocab())


def tokenize_corpus(
    texts: list[str], tokenizer: PreTrainedTokenizerFast, context: int
) -> TokenizedCorpus:
    """Tokenize every file and cut it into windows of at most `context - WINDOW_SLACK` tokens."""
    size = max(8, context - WINDOW_SLACK)
    encodings = tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
    windows: list[Window] = []
    for index, encoding in enumerate(encodings):
        ids = np.asarray(encoding.ids, dtype=np.int32)
        offsets = encoding.offsets
        for start in range(0, len(ids), size):
            end = min(start + size, len(ids))
            windows.append(
                Window(index, offsets[start][0], offsets[end - 1][1], ids[start:end], end == len(ids))
            )
    return TokenizedCorpus(texts, windows)


@dataclass(frozen=True)
class SampleMix:
    """How an epoch's windows become samples (see the module docstring)."""

    fim_rate: float = 0.5
    line_aligned_rate: float = 0.5
    short_middle_rate: float = 0.0  # FIM samples whose middle is editor-sized
    fim_order: str = "psm"  # "psm" or "spm", see `fim.py`
    context_rate: float = 0.0  # samples led by retrieved snippets of sibling files
    context_share: float = 0.3  # the most of a row those snippets may take


def epoch_rows(
    corpus: TokenizedCorpus,
    tokenizer: PreTrainedTokenizerFast,
    context: int,
    seed: int,
    mix: SampleMix = SampleMix(),
    siblings: SiblingIndex | None = None,
) -> np.ndarray:
    """One epoch of training rows, shape (rows, context); deterministic for a given seed."""
    rng = random.Random(seed)
    ids = special_ids(tokenizer)
    samples: list[list[int] | None] = [None] * len(corpus.windows)
    jobs: list[tuple[int, bool]] = []  # (window, is FIM), pieces to encode in `pieces`
    pieces: list[str] = []
    for i, window in enumerate(corpus.windows):
        fim = rng.random() < mix.fim_rate
        with_context = siblings is not None and rng.random() < mix.context_rate
        if not fim and not with_context:
            tail = [ids.end_of_text] if window.ends_file else []
            samples[i] = window.ids.tolist() + tail
            continue
        text = corpus.texts[window.file][window.start : window.end]
        room = int(mix.context_share * context * len(text) / max(1, len(window.ids)))
        if with_context:  # make room for the snippets: drop whole lines from the window's start
            cut = text.find("\n", room)
            text = text[cut + 1 :] if 0 <= cut < len(text) - 1 else text
        split = split_for_fim(text, rng, mix.line_aligned_rate, mix.short_middle_rate) if fim else None
        header = ""
        if with_context:
            assert siblings is not None
            query = split.prefix[-1500:] + split.suffix[:500] if split else text[: len(text) // 2]
            found = siblings.snippets(window.file, query, rng, room)
            header = siblings.render(window.file, found, FILE_SEPARATOR)
        jobs.append((i, fim))
        pieces += [header + split.prefix, split.middle, split.suffix] if split else [header + text]
    encoded = iter(tokenizer.backend_tokenizer.encode_batch(pieces, add_special_tokens=False))
    for i, fim in jobs:
        if fim:
            prefix, middle, suffix = (next(encoded).ids for _ in range(3))
            samples[i] = fim_ids(*trim_parts(prefix, middle, suffix, room=context - 4), ids, mix.fim_order)
        else:
            tail = [ids.end_of_text] if corpus.windows[i].ends_file else []
            samples[i] = (next(encoded).ids + tail)[:context]
    order = list(range(len(samples)))
    rng.shuffle(order)
    stream = np.fromiter(
        (token for j in order for token in samples[j]),  # type: ignore[union-attr]
        dtype=np.int64,
    )
    rows = len(stream) // context
    if rows == 0:  # a tiny corpus: pad one row rather than train on nothing
        padded = np.full(context, ids.pad, dtype=np.int64)
        padded[: len(stream)] = stream
        return padded[None, :]
    return stream[: rows * context].reshape(rows, context)

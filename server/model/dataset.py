"""Turn corpus files into packed training batches, half of the samples in FIM order.

Each file is tokenized once and cut into windows a little shorter than the context. Every epoch
each window becomes either a plain left-to-right sample or, with probability `fim_rate`, a
prefix-suffix-middle sample whose three parts are cut at character positions and tokenized
separately (as they will be at inference). Samples are shuffled and packed into rows of exactly
`context` tokens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerFast

from .fim import SpecialIds, psm_ids, split_for_fim

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


def epoch_rows(
    corpus: TokenizedCorpus,
    tokenizer: PreTrainedTokenizerFast,
    context: int,
    seed: int,
    fim_rate: float = 0.5,
    line_aligned_rate: float = 0.5,
) -> np.ndarray:
    """One epoch of training rows, shape (rows, context); deterministic for a given seed."""
    rng = random.Random(seed)
    ids = special_ids(tokenizer)
    samples: list[list[int] | None] = [None] * len(corpus.windows)
    fim_jobs: list[int] = []
    pieces: list[str] = []
    for i, window in enumerate(corpus.windows):
        if rng.random() < fim_rate:
            text = corpus.texts[window.file][window.start : window.end]
            split = split_for_fim(text, rng, line_aligned_rate)
            fim_jobs.append(i)
            pieces += [split.prefix, split.middle, split.suffix]
        else:
            tail = [ids.end_of_text] if window.ends_file else []
            samples[i] = window.ids.tolist() + tail
    encoded = tokenizer.backend_tokenizer.encode_batch(pieces, add_special_tokens=False)
    for k, i in enumerate(fim_jobs):
        prefix, middle, suffix = (e.ids for e in encoded[3 * k : 3 * k + 3])
        samples[i] = psm_ids(prefix, middle, suffix, ids)[:context]
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

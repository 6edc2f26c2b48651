"""Train the default model's byte-level BPE tokenizer, with the FIM special tokens."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from .fim import END_OF_TEXT, FIM_PAD, SPECIAL_TOKENS

log = logging.getLogger(__name__)


def train_tokenizer(
    texts: Iterable[str], vocab_size: int, max_length: int, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `texts`; the special tokens get ids 0-5 and are single tokens."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    log.info("trained a BPE tokenizer of %d tokens", tokenizer.get_vocab_size())
    return wrap_tokenizer(tokenizer, max_length)


def wrap_tokenizer(tokenizer: Tokenizer, max_length: int) -> PreTrainedTokenizerFast:
    """A `transformers` tokenizer around `tokenizer`, so `AutoTokenizer.from_pretrained` loads it."""
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        pad_token=FIM_PAD,
        model_max_length=max_length,
        clean_up_tokenization_spaces=False,
    )
    extra = [t for t in SPECIAL_TOKENS if t not in (END_OF_TEXT, FIM_PAD)]
    fast.add_special_tokens({"additional_special_tokens": extra})
    return fast

"""Fine-tune a sentence-transformers embedder on mined pairs, and score it with MRR@10.

The loss is sentence-transformers' MultipleNegativesRankingLoss: every other pair's code in the batch is a
negative for a query, weighted by how close it is (`LOSS_VARIANTS`). Batches never hold the same query or the
same code twice, which would turn a right answer into a "negative". Training stops at a wall-clock budget; the
learning-rate schedule is re-planned after the first steps so that it decays to zero when the budget runs out.
`train_soup` runs that training once per seed of a soup (`--soup N`) and averages the models' weights.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from copilot_index.indexer import CopilotIndexError

from .pairs import Pair

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
EncodeFunction = Callable[[list[str]], np.ndarray]


@dataclass
class TrainingArgs:
    """Hyperparameters of one fine-tuning run (recorded in the lineage manifest)."""

    max_seconds: float = 360.0
    """Wall-clock budget for the optimisation steps."""
    epochs: int = 1
    """Passes over the training pairs, unless the budget or max_steps stops earlier."""
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    max_seq_length: int = 128
    """Tokens of code read while training (queries are short); indexing keeps its own limit (256). Training on 256
    scored the same at twice the time (docs/embedder-training-log.md, `--train-seq-length 256`)."""
    scale: float = 20.0
    """Inverse temperature of the in-batch softmax (`--scale`; 40 and 10 measured, not adopted: README, "Other options")."""
    freeze_layers: int = 0
    """Transformer layers, counted from the input, kept as they are, with the token embeddings (`--freeze-layers`;
    0 trains every weight; 3 of MiniLM's 6 measured, not adopted)."""
    hard_negatives: bool = False
    """Add one keyword-search hard negative per pair (triplets; each step reads a third more text)."""
    loss: str = "hardness"
    """A name in `LOSS_VARIANTS` (``hardness`` since 6 December: it lifted nine retrieval sets of ten, README)."""
    seed: int = 0
    soup: int = 1
    """Trainings averaged into one model (`train_soup`): 2 or more trains the recipe again from the same start
    with the next seeds and averages the weights (a uniform model soup), at that many times the training time."""


_HARDNESS = {"hardness_mode": "in_batch_negatives", "hardness_strength": 9.0}
LOSS_VARIANTS: dict[str, dict] = {
    "infonce": {},
    "hardness": _HARDNESS,
    "gte": {**_HARDNESS, "directions": ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc"),
            "partition_mode": "joint"},
}
"""`train-embeddings --loss`: keyword arguments of sentence-transformers' MultipleNegativesRankingLoss.
``infonce`` scores each query against every code text of its batch (the loss until 6 December, and the shipped
embedder's); ``hardness`` (the default) is ``infonce`` with the logit of every in-batch negative raised by 9x its
gradient-free similarity, so the close ones weigh more (Lan et al. 2025; their strength, not tuned here); ``gte``
is ``hardness`` with the batch's other queries, each code text's query among the batch's queries, and the
batch's other code texts in one softmax (Li et al. 2023): better on gin, click, superagent and stylus, worse on
flask, httpx, video.js and jsdoc, lower pooled (README, "Other options")."""


@dataclass
class TrainResult:
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)


def plan_batches(
    pairs: Sequence[Pair], batch_size: int, rng: random.Random, negatives: Sequence[str] | None = None
) -> list[list[int]]:
    """Shuffled batches (indices into `pairs`) in which no query text and no code text appears twice.

    With `negatives` (one per pair), a pair's negative is also never another pair's code in its batch,
    where it would be that pair's right answer scored as wrong.
    """
    pending = list(range(len(pairs)))
    rng.shuffle(pending)
    batches: list[list[int]] = []
    while len(pending) >= 2:
        batch: list[int] = []
        queries: set[str] = set()
        codes: set[str] = set()
        negs: set[str] = set()
        rest: list[int] = []
        for i in pending:
            pair = pairs[i]
            query = " ".join(pair.query.lower().split())
            negative = negatives[i] if negatives is not None else None
            fits = len(batch) < batch_size and query not in queries and pair.positive not in codes
            if fits and negative is not None:
                fits = negative not in codes and pair.positive not in negs
            if fits:
                batch.append(i)
                queries.add(query)
                codes.add(pair.positive)
                if negative is not None:
                    negs.add(negative)
            else:
                rest.append(i)
        if len(batch) < 2:
            break
        batches.append(batch)
        pending = rest
    return batches


def with_negatives(pairs: Sequence[Pair], rng: random.Random) -> list[str]:
    """A hard negative (keyword search) for every pair, or a random other code text where there is none."""
    from .negatives import hard_negatives

    found = hard_negatives(pairs)
    pool = sorted({p.positive for p in pairs})
    filled: list[str] = []
    for pair, negative in zip(pairs, found, strict=True):
        while negative is None or negative == pair.positive:
            negative = rng.choice(pool) if len(pool) > 1 else pair.positive + "\n"
        filled.append(negative)
    return filled


def load_trainable(path: str, device: str = "cpu"):  # type: ignore[no-untyped-def]
    """A private, trainable copy of a sentence-transformers model (never the shared cached one)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device, local_files_only=True)


def transformer_layers(model) -> list:  # type: ignore[no-untyped-def]
    """The encoder layers of a sentence-transformers model, from the input up ([] for a model without them)."""
    encoder = getattr(getattr(model[0], "auto_model", None), "encoder", None)
    return list(getattr(encoder, "layer", None) or [])


def freeze(model, layers: int) -> None:  # type: ignore[no-untyped-def]
    """Keep the token embeddings and the first `layers` encoder layers of `model` out of training."""
    if layers <= 0:
        return
    stack = transformer_layers(model)
    if layers >= len(stack):
        raise CopilotIndexError(f"--freeze-layers must be below the embedder's {len(stack)} layers, such as 3.")
    for part in [model[0].auto_model.embeddings, *stack[:layers]]:
        for parameter in part.parameters():
            parameter.requires_grad = False


def new_optimizer(model, args: TrainingArgs):  # type: ignore[no-untyped-def]
    """The AdamW that `fine_tune` makes for one call (after `freeze`); a long run makes one and passes it to every
    call."""
    import torch

    freeze(model, args.freeze_layers)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=args.weight_decay)


def fine_tune(model, pairs: Sequence[Pair], args: TrainingArgs, progress: ProgressCallback | None = None,  # type: ignore[no-untyped-def]
              optimizer=None) -> TrainResult:
    """Train `model` in place on `pairs` with in-batch negatives, within `args.max_seconds`.

    With `optimizer` (from `new_optimizer`), its moment estimates carry over from earlier calls instead of
    starting from zero; this call's warm-up and decay start again from `args.learning_rate`.
    """
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    progress = progress or (lambda description, done, total: None)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    negatives = with_negatives(pairs, rng) if args.hard_negatives else None
    batches = [b for _ in range(max(1, args.epochs)) for b in plan_batches(pairs, args.batch_size, rng, negatives)]
    if args.max_steps is not None:
        batches = batches[: args.max_steps]
    planned = max(1, len(batches))
    saved_length = model.max_seq_length
    model.max_seq_length = args.max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model, scale=args.scale, **LOSS_VARIANTS[args.loss])
    if optimizer is None:
        optimizer = new_optimizer(model, args)
    for group in optimizer.param_groups:  # the scheduler scales initial_lr, which a reused optimizer already has
        group["lr"] = group["initial_lr"] = args.learning_rate
    schedule = _Schedule(planned, args.warmup_share)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    result = TrainResult(steps=0, seconds=0.0)
    started = time.monotonic()
    model.train()
    try:
        for step, batch in enumerate(batches, 1):
            columns = [[pairs[i].query for i in batch], [pairs[i].positive for i in batch]]
            if negatives is not None:
                columns.append([negatives[i] for i in batch])
            features = [_on(model.device, model.preprocess(texts)) for texts in columns]
            loss = loss_fn(features, torch.empty(0))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            result.steps = step
            result.losses.append(float(loss.detach()))
            elapsed = time.monotonic() - started
            if step == 3 and planned > 3:
                schedule.total = min(planned, max(step + 1, int(args.max_seconds / (elapsed / step))))
            progress("Training", step, schedule.total)
            if elapsed >= args.max_seconds or step >= schedule.total:
                break
    finally:
        model.eval()
        model.max_seq_length = saved_length
    result.seconds = time.monotonic() - started
    log.info("trained %d steps in %.0fs (loss %.3f -> %.3f)", result.steps, result.seconds,
             result.losses[0] if result.losses else 0.0, result.losses[-1] if result.losses else 0.0)
    return result


def train_soup(model, base_path: str, pairs: Sequence[Pair], args: TrainingArgs,  # type: ignore[no-untyped-def]
               progress: ProgressCallback | None = None) -> TrainResult:
    """Train `model` (loaded from `base_path`) on `pairs`, then, with `args.soup` > 1, train that many more copies
    of the base with seeds `args.seed` + 1, + 2, ... and set `model`'s weights to the mean of all of them.

    Every copy gets the whole time budget. The copies start from the same base and differ only in the order of
    their batches and their dropout, so their mean stays in one basin of the loss (Wortsman et al. 2022).
    """
    progress = progress or (lambda description, done, total: None)
    count = max(1, args.soup)

    def labelled(k: int) -> ProgressCallback:
        return lambda description, done, total: progress(
            description if count == 1 else f"{description} ({k} of {count})", done, total)

    result = fine_tune(model, pairs, args, labelled(1))
    if count == 1:
        return result
    import torch

    total = {name: value.detach().clone().double() for name, value in model.state_dict().items()
             if value.is_floating_point()}
    for k in range(2, count + 1):
        other = load_trainable(base_path, str(model.device))
        more = fine_tune(other, pairs, dataclasses.replace(args, seed=args.seed + k - 1), labelled(k))
        result.steps += more.steps
        result.seconds += more.seconds
        result.losses += more.losses
        for name, value in other.state_dict().items():
            if name in total:
                total[name] += value.detach().double()
        del other
    with torch.no_grad():
        state = model.state_dict()
        for name, value in total.items():
            state[name].copy_((value / count).to(state[name].dtype))
    log.info("averaged %d trainings into one model (%d steps in all)", count, result.steps)
    return result


def _on(device, features: dict) -> dict:  # type: ignore[no-untyped-def]
    """The tokenizer's tensors moved to the model's device (a no-op on the CPU)."""
    return {key: value.to(device) if hasattr(value, "to") else value for key, value in features.items()}


class _Schedule:
    """Linear warm-up, then linear decay to zero at `total` steps (which may be re-planned)."""

    def __init__(self, total: int, warmup_share: float) -> None:
        self.total = total
        self.warmup_share = warmup_share

    def __call__(self, step: int) -> float:
        warmup = max(1, int(self.total * self.warmup_share))
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (self.total - step) / max(1, self.total - warmup))


def encoder_of(model, max_seq_length: int, batch_size: int = 32) -> EncodeFunction:  # type: ignore[no-untyped-def]
    """An encode function over a sentence-transformers model: L2-normalised float32 rows."""

    def encode(texts: list[str]) -> np.ndarray:
        saved = model.max_seq_length
        model.max_seq_length = max_seq_length
        try:
            vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        finally:
            model.max_seq_length = saved
        return np.asarray(vectors, dtype=np.float32)

    return encode


def mrr_at_k(encode: EncodeFunction, pairs: Sequence[Pair], distractors: Sequence[str] = (), k: int = 10) -> float:
    """Mean reciprocal rank of the right code among all held-out code (plus distractors), per query."""
    if not pairs:
        return 0.0
    docs, queries, relevant = retrieval_task(pairs, distractors)
    return mrr_of_scores(encode(queries) @ encode(docs).T, queries, relevant, k)


def retrieval_task(
    pairs: Sequence[Pair], distractors: Sequence[str] = ()
) -> tuple[list[str], list[str], dict[str, set[int]]]:
    """The code texts (positives first, then distractors, once each), the distinct queries, and each query's
    right answers as indexes into the code texts."""
    docs = list(dict.fromkeys([p.positive for p in pairs] + [d for d in distractors]))
    index = {doc: i for i, doc in enumerate(docs)}
    relevant: dict[str, set[int]] = {}
    for pair in pairs:
        relevant.setdefault(pair.query, set()).add(index[pair.positive])
    return docs, list(relevant), relevant


def mrr_of_scores(scores: np.ndarray, queries: Sequence[str], relevant: dict[str, set[int]], k: int = 10) -> float:
    """MRR@k of a (query x code) score matrix whose rows follow `queries`."""
    total = 0.0
    for row, query in zip(scores, queries, strict=True):
        top = np.argsort(-row, kind="stable")[:k]
        total += next((1.0 / rank for rank, i in enumerate(top, 1) if int(i) in relevant[query]), 0.0)
    return total / len(queries) if len(queries) else 0.0


def should_promote(base_mrr: float, trained_mrr: float, min_gain: float = 0.0) -> bool:
    """A trained embedder replaces its base only if it ranks the held-out code strictly better."""
    return trained_mrr > base_mrr + min_gain

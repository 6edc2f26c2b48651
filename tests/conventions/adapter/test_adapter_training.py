"""The adapter's training step: the loss read at the target positions only, a batch taken in micro-batches."""

from __future__ import annotations

import torch

from copilot_index.conventions.adapter.training import MICRO_BATCH, AdapterArgs, _batch, target_loss, wrap_with_lora
from copilot_index.server.model.loader import load_generator


def _examples() -> list[tuple[list[int], list[int]]]:
    return [(list(range(5, 5 + n)), list(range(40, 40 + t))) for n, t in ((30, 4), (12, 7), (50, 3), (21, 5), (9, 2))]


def test_the_target_loss_is_the_model_own_loss_over_the_same_tokens(tiny_model_dir):
    model = wrap_with_lora(load_generator(tiny_model_dir).model, AdapterArgs(dropout=0.0))
    batch = _batch(_examples(), pad_id=0, max_tokens=64)
    targets = int((batch["labels"][:, 1:] != -100).sum())
    with torch.no_grad():
        own = model(**batch).loss  # transformers' mean over every label that is not -100
        ours = target_loss(model, batch) / targets
    assert torch.allclose(own, ours, atol=1e-5)


def test_a_batch_in_micro_batches_gives_the_whole_batch_gradient(tiny_model_dir):
    examples = _examples()
    assert len(examples) > MICRO_BATCH
    grads = []
    for parts in ([examples], [examples[k : k + MICRO_BATCH] for k in range(0, len(examples), MICRO_BATCH)]):
        torch.manual_seed(0)
        model = wrap_with_lora(load_generator(tiny_model_dir).model, AdapterArgs(dropout=0.0))
        micro = [_batch(p, pad_id=0, max_tokens=64) for p in parts]
        targets = sum(int((m["labels"][:, 1:] != -100).sum()) for m in micro)
        for m in micro:
            (target_loss(model, m) / targets).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad]))
    assert grads[0].abs().sum() > 0
    assert torch.allclose(grads[0], grads[1], atol=1e-5)

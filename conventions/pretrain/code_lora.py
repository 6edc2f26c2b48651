"""Train the shipped code LoRA of the default completion model on prompts in the engine's layout.

    python conventions/pretrain/code_lora.py --base DIR [--gguf-file NAME.gguf] --samples FILE.jsonl.xz \
        --out RUN_DIR [--minutes 6] [--device cuda] [--rank 16] [--batch-size 32]

The samples come from `server/completion/code_lora_corpus.py` (retrieved snippets and following lines as comments,
the file before the cursor, then what the model must write). The base is a Hugging Face folder, or a folder with
a GGUF file that transformers de-quantizes (the same float weights `import-model` writes, so the adapter fits the
quantized file llama.cpp runs). Loss: every token after the context, the cursor's middle weighted 1 and the
prefix `--prefix-weight` (the model keeps learning code, and most of all what comes at the cursor). A held-out
slice is scored before and after training: loss on the middle, and how often the greedy first line is exact.

This file imports only torch, transformers and peft, so it runs as a plain script on a machine that has those
and not the rest of the project (a lent GPU); `copilot-index` never needs it at run time.
"""

from __future__ import annotations

import argparse
import json
import logging
import lzma
import math
import random
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load_samples(path: Path) -> list[dict[str, str]]:
    with lzma.open(path, "rt") as source:
        return [json.loads(line) for line in source if line.strip()]


def encode_all(tok: Any, samples: list[dict[str, str]], args: argparse.Namespace,
               bos: int | None) -> list[tuple[list[int], list[int], int]]:
    """Per sample: (ids, the kind of each token: 0 context, 1 prefix, 2 middle; where the middle starts). The context
    keeps its last `--context-tokens`, the middle its first `--middle-tokens`, the prefix what fits in `--seq`."""
    def ids_of(key: str) -> list[list[int]]:
        return tok([s[key] for s in samples], add_special_tokens=False).input_ids

    encoded = []
    for context, prefix, middle in zip(ids_of("context"), ids_of("prefix"), ids_of("middle"), strict=True):
        head = ([bos] if bos is not None else []) + context[len(context) - min(len(context), args.context_tokens) :]
        middle = middle[: args.middle_tokens]
        prefix = prefix[max(0, len(prefix) - (args.seq - len(head) - len(middle))) :]
        kinds = [0] * len(head) + [1] * len(prefix) + [2] * len(middle)
        encoded.append((head + prefix + middle, kinds, len(head) + len(prefix)))
    return encoded


def batches(encoded: list[tuple[list[int], list[int], int]], size: int, rng: random.Random):
    while True:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for start in range(0, len(order) - size + 1, size):
            yield [encoded[i] for i in order[start : start + size]]


def collate(batch: list[tuple[list[int], list[int], int]], pad: int, prefix_weight: float, device: str):
    import torch

    width = max(len(ids) for ids, _, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    weights = torch.zeros((len(batch), width), dtype=torch.float32)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    table = {0: 0.0, 1: prefix_weight, 2: 1.0}
    for row, (seq_ids, kinds, _) in enumerate(batch):
        ids[row, : len(seq_ids)] = torch.tensor(seq_ids)
        mask[row, : len(seq_ids)] = 1
        weights[row, : len(seq_ids)] = torch.tensor([table[k] for k in kinds])
    return ids.to(device), mask.to(device), weights.to(device)


def weighted_loss(model: Any, ids: Any, mask: Any, weights: Any) -> Any:
    import torch

    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    target, w = ids[:, 1:], weights[:, 1:]
    losses = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction="none")
    return (losses * w.reshape(-1)).sum() / w.sum().clamp(min=1.0)


def evaluate(model: Any, tok: Any, held: list[tuple[list[int], list[int], int]], samples: list[dict[str, str]],
             device: str, pad: int) -> dict[str, float]:
    """Middle-only loss, and greedy first-line exact match, on the held-out slice."""
    import torch

    model.eval()
    losses, exact = [], 0
    with torch.no_grad():
        for (ids, kinds, start), sample in zip(held, samples, strict=True):
            x, m, w = collate([(ids, [2 if k == 2 else 0 for k in kinds], start)], pad, 0.0, device)
            losses.append(float(weighted_loss(model, x, m, w)))
            prompt = torch.tensor([ids[:start]], device=device)
            out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=24,
                                 do_sample=False, pad_token_id=pad)
            text = tok.decode(out[0, start:], skip_special_tokens=True)
            exact += text.split("\n", 1)[0].strip() == sample["middle"].split("\n", 1)[0].strip()
    model.train()
    return {"middle_loss": sum(losses) / max(1, len(losses)), "first_line_exact": exact / max(1, len(held)),
            "held_out": len(held)}


def main(argv: list[str] | None = None) -> int:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--gguf-file", default=None)
    parser.add_argument("--samples", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--max-steps", type=int, default=0, help="0: until --minutes run out")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--context-tokens", type=int, default=320)
    parser.add_argument("--middle-tokens", type=int, default=96)
    parser.add_argument("--prefix-weight", type=float, default=0.25)
    parser.add_argument("--bos", action="store_true", help="start each sequence with the BOS token")
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.monotonic()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    kw = {"gguf_file": args.gguf_file} if args.gguf_file else {}
    tok = AutoTokenizer.from_pretrained(args.base, **kw)
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=dtype, **kw).to(args.device)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    bos = tok.bos_token_id if args.bos else None
    samples = load_samples(args.samples)
    rng.shuffle(samples)
    held_samples, train_samples = samples[: args.held_out], samples[args.held_out :]
    held, train = encode_all(tok, held_samples, args, bos), encode_all(tok, train_samples, args, bos)
    log.info(f"encoded {len(train)} training samples, {sum(len(t[0]) for t in train)} tokens, in "
          f"{time.monotonic() - started:.0f} s")
    before = evaluate(model, tok, held, held_samples, args.device, pad)
    log.info("before %s", before)
    config = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, target_modules=MODULES, task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate,
                                  weight_decay=0.0)
    budget = args.minutes * 60 - (time.monotonic() - started) - 60  # the final evaluation and saving
    planned = args.max_steps or 10**9
    step, tokens, history = 0, 0, []
    train_started = time.monotonic()
    for batch in batches(train, args.batch_size, rng):
        elapsed = time.monotonic() - train_started
        if step >= planned or elapsed > budget:
            break
        share = elapsed / budget if not args.max_steps else step / planned
        lr = args.learning_rate * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, share))))
        for group in optimizer.param_groups:
            group["lr"] = lr
        ids, mask, weights = collate(batch, pad, args.prefix_weight, args.device)
        loss = weighted_loss(model, ids, mask, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens += int(mask.sum())
        if step % 25 == 0:
            history.append({"step": step, "loss": loss.item(), "lr": lr, "tokens": tokens, "seconds": round(elapsed, 1)})
            log.info("%s", history[-1])
    after = evaluate(model, tok, held, held_samples, args.device, pad)
    log.info("after %s", after)
    args.out.mkdir(parents=True, exist_ok=True)
    model = model.to(torch.float16)
    model.save_pretrained(args.out)
    report = {"before": before, "after": after, "steps": step, "tokens": tokens, "train_samples": len(train),
              "seconds": round(time.monotonic() - train_started, 1), "device": args.device,
              "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
              "args": {k: str(v) for k, v in vars(args).items()}, "log": history}
    (args.out / "training_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

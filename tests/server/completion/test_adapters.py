"""A real LoRA on a real tiny transformer: train, save, reload, generate, promote, resume, evaluate."""

from __future__ import annotations

import json
import threading

import pytest
from fixtures_code import GEOMETRY, HTTP, STORAGE_GO

from copilot_index.conventions.adapter.registry import AdapterRegistry
from copilot_index.conventions.adapter.samples import Sample
from copilot_index.conventions.adapter.training import AdapterArgs
from copilot_index.indexer.errors import CopilotIndexError
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main
from copilot_index.server.completion.adapters import PromptRenderer, train_adapter
from copilot_index.server.completion.config import CompletionConfig
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.evaluation import evaluate_repository, verdict
from copilot_index.server.completion.report import paired_text, render_html
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.model.loader import load_generator


def _project(repo) -> None:  # type: ignore[no-untyped-def]
    for i in range(10):
        repo.write(f"pkg/geo_{i}.py", GEOMETRY.replace("circle_area", f"circle_area_{i}"))
    repo.write("pkg/http.py", HTTP)
    repo.write("pkg/storage.go", STORAGE_GO)
    repo.commit("project")


def test_train_promote_reload_and_refuse(repo, data_dir, run_index, tiny_model_dir):
    _project(repo)
    run_index(repo.root)
    info = resolve_repo(repo.root)
    config = CompletionConfig(model=str(tiny_model_dir))
    args = AdapterArgs(max_steps=6, batch_size=4, checkpoint_every=3, learning_rate=5e-3, target_samples=48)
    first = train_adapter(info, data_dir, config, args, max_eval=6)
    assert first.version == 1 and first.training["steps"] == 6
    manifest = json.loads((data_dir / "adapters" / "v1" / "manifest.json").read_text())
    for key in ("base_model", "base_model_sha256", "commit", "training_files_sha256", "hyperparameters", "metrics"):
        assert key in manifest
    assert manifest["commit"] == repo.git("rev-parse", "HEAD")
    assert (data_dir / "adapters" / "v1" / "adapter_config.json").is_file()
    assert first.promoted == (AdapterRegistry(data_dir).active() is not None)

    # Zero training steps give an adapter equal to the base: it is never promoted.
    second = train_adapter(info, data_dir, config, AdapterArgs(max_steps=0, target_samples=48), max_eval=6)
    assert not second.promoted and "does not beat" in second.reason
    active = AdapterRegistry(data_dir).active()
    assert (active.version if active else None) == (1 if first.promoted else None)

    # The engine loads the active adapter with peft and still completes.
    engine = CompletionEngine(info, data_dir, config)
    assert engine.adapter_path() == (str(data_dir / "adapters" / "v1") if first.promoted else None)
    result = engine.complete(CompletionRequest("pkg/new.py", "def area(r):\n    return ", 1, 11), retrieval=False)
    assert "<|" not in result.completion
    assert CompletionEngine(info, data_dir, config, use_adapter=False).adapter_path() is None


def test_cancelled_training_resumes_from_its_checkpoint(repo, data_dir, tiny_model_dir):
    _project(repo)
    info = resolve_repo(repo.root)
    config = CompletionConfig(model=str(tiny_model_dir))
    cancel = threading.Event()

    def stop_after_four(description: str, done: int, total: int) -> None:
        if description == "Training adapter" and done == 4:
            cancel.set()

    args = AdapterArgs(max_steps=8, batch_size=4, checkpoint_every=2, target_samples=48)
    stopped = train_adapter(info, data_dir, config, args, progress=stop_after_four, cancel=cancel, max_eval=4)
    assert stopped.training["stopped"] == "cancelled" and stopped.version is None
    resumed = train_adapter(info, data_dir, config, args, max_eval=4)
    assert resumed.training["resumed_from"] == 4 and resumed.training["steps"] == 8


def test_eval_reports_four_configurations(repo, data_dir, run_index, tiny_model_dir, capsys):
    _project(repo)
    run_index(repo.root)
    report = evaluate_repository(resolve_repo(repo.root), data_dir, CompletionConfig(model=str(tiny_model_dir)),
                                 max_samples=4, target_samples=48)
    assert list(report["configs"]) == ["base", "+retrieval", "+adapter", "+both"]
    assert "exact_match" in report["configs"]["+retrieval"]
    assert set(report["configs"]["+retrieval"]["vs_base"]) == {"wins", "losses", "p_value", "clear"}
    assert not any("exact" in r for r in report["configs"].values())  # per-sample outcomes stay inside
    assert "train-adapter" in report["configs"]["+adapter"]["skipped"]
    page = render_html(report)
    assert page.count("data:image/png;base64,") == 3 and "Fine-tune" in page
    assert ", p = " in page  # +retrieval against the base, on the same samples
    assert main(["--data-dir", str(data_dir), "eval", "--repo", str(repo.root), "--samples", "4"]) == 0
    table = capsys.readouterr().out
    assert "+retrieval" in table and "p = " in table and "held-out samples" in table
    with pytest.raises(CopilotIndexError, match="no adapter v3"):
        evaluate_repository(resolve_repo(repo.root), data_dir, CompletionConfig(model=str(tiny_model_dir)),
                            max_samples=4, target_samples=48, adapter_version=3)


def test_training_targets_start_with_the_whitespace_the_prompt_gave_up(tiny_model_dir):
    """Prompts end at the last non-blank character (prefix-only) or before the cursor's spaces
    (FIM); the target the adapter learns must begin with what was cut, as generation does."""
    generator = load_generator(tiny_model_dir)
    sample = Sample("pkg/a.py", "def f(x):\n    ", "\n    return x\n", "y = x", "line")
    # A FIM model ends the middle with end-of-text; a prefix-only one sees no middle to end: its
    # line ends with the line break and the next line's indentation, as the file goes on.
    endings = {"off": "def f(x):\n    y = x\n    ", "on": "<|fim_middle|>    y = x<|endoftext|>"}  # a PSM model
    for fim, ending in endings.items():
        renderer = PromptRenderer(generator, CompletionConfig(model=str(tiny_model_dir), fim=fim), None)
        ids, target = renderer.example(sample, retrieval=False)
        assert (target[-1] == generator.tokenizer.eos_token_id) == (fim == "on")
        assert generator.tokenizer.decode(ids + target).endswith(ending)
    last_line = Sample("pkg/a.py", "def f(x):\n    ", "", "return x", "line")  # nothing after it: end-of-text
    off = PromptRenderer(generator, CompletionConfig(model=str(tiny_model_dir), fim="off"), None)
    assert off.example(last_line, retrieval=False)[1][-1] == generator.tokenizer.eos_token_id


def test_the_verdict_says_whether_the_gain_is_a_clear_margin():
    base = {"exact_match": 0.05}
    clear = {"exact_match": 0.10, "vs_base": {"wins": 12, "losses": 2, "p_value": 0.013, "clear": True}}
    luck = {"exact_match": 0.06, "vs_base": {"wins": 3, "losses": 2, "p_value": 1.0, "clear": False}}
    assert "a clear margin (12 samples won, 2 lost" in verdict({"base": base, "+both": clear, "+adapter": luck})
    assert "not a clear margin" in verdict({"base": base, "+adapter": luck})
    assert verdict({"base": base, "+adapter": {"exact_match": 0.05}}).startswith("Neither")
    sure = {"exact_match": 0.06, "vs_base": {"wins": 18, "losses": 1, "p_value": 7.6e-5, "clear": True}}
    assert "(18 samples won, 1 lost, p < 0.001)" in verdict({"base": base, "+both": sure})
    assert paired_text(sure["vs_base"]) == "18/1, p < 0.001 (clear)"
    assert paired_text(clear["vs_base"]) == "12/2, p = 0.013 (clear)"


def test_prompts_are_windowed_as_the_engine_windows_them(tiny_model_dir):
    """A line is a single-line completion (max_tokens), so its prompt gets the engine's larger window."""
    generator = load_generator(tiny_model_dir)
    config = CompletionConfig(model=str(tiny_model_dir), context_length=400, max_tokens=20, max_block_tokens=90)
    renderer = PromptRenderer(generator, config, None)
    line = Sample("pkg/a.py", "x = 1\n", "\n", "y = 2", "line")
    span = Sample("pkg/a.py", "x = 1\n", "\n", "y = 2", "span")
    usable = min(400, generator.context_length)
    assert renderer.window(line) == usable - 20 - 8
    assert renderer.window(span) == usable - 48 - 8
    assert renderer.prompt_limit(line) == generator.context_length - 20


def test_train_adapter_cli_passes_its_hyperparameters_and_refuses_bad_ones(repo, data_dir, tiny_model_dir, capsys):
    _project(repo)
    repo.write(".copilot-index.toml", f'[completion]\nmodel = "{tiny_model_dir}"\n')
    repo.commit("config")
    argv = ["--data-dir", str(data_dir), "train-adapter", "--repo", str(repo.root), "--max-steps", "2"]
    assert main([*argv, "--learning-rate", "7e-4", "--batch-size", "3", "--rank", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    manifest = json.loads((data_dir / "adapters" / f"v{report['version']}" / "manifest.json").read_text())
    hyper = manifest["hyperparameters"]
    assert (hyper["learning_rate"], hyper["batch_size"], hyper["rank"]) == (7e-4, 3, 4)
    assert report["training"]["steps"] == 2
    for flag, value in (("--learning-rate", "-1"), ("--learning-rate", "fast"), ("--batch-size", "0")):
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, flag, value])
        assert exit_info.value.code == 2
        assert "is not a positive" in capsys.readouterr().err


def test_a_model_prompted_without_the_suffix_trains_on_next_lines_only(repo, data_dir, tiny_model_dir):
    _project(repo)
    info = resolve_repo(repo.root)
    args = AdapterArgs(max_steps=1, batch_size=2, target_samples=48)
    with_fim = train_adapter(info, data_dir, CompletionConfig(model=str(tiny_model_dir), fim="on"), args, max_eval=2)
    assert "spans_left_out" not in with_fim.samples
    prefix_only = train_adapter(info, data_dir, CompletionConfig(model=str(tiny_model_dir), fim="off"), args, max_eval=2)
    spans = prefix_only.samples["spans_left_out"]
    assert spans > 0 and prefix_only.samples["train"] + spans == with_fim.samples["train"]

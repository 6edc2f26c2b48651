"""`copilot-index eval` through the engine's runtime: four configurations, paired comparisons, the HTML report."""

from __future__ import annotations

import pytest
from adapter_repo import engine_runtime, open_index, write_project

from copilot_index.conventions.eval.evaluation import evaluate_repository, verdict
from copilot_index.conventions.eval.report import paired_text, render_html
from copilot_index.indexer import CopilotIndexError
from copilot_index.server.cli import main


def test_eval_reports_four_configurations(repo, data_dir, run_index, tiny_model_dir, capsys):
    write_project(repo)
    run_index(repo.root)
    index = open_index(repo.root, data_dir)
    report = evaluate_repository(index, engine_runtime(index, tiny_model_dir), max_samples=4, target_samples=48)
    assert list(report["configs"]) == ["base", "+retrieval", "+adapter", "+both"]
    assert "exact_match" in report["configs"]["+retrieval"]
    assert set(report["configs"]["+retrieval"]["vs_base"]) == {"wins", "losses", "p_value", "clear"}
    assert not any("exact" in r for r in report["configs"].values())  # per-sample outcomes stay inside
    assert "train-adapter" in report["configs"]["+adapter"]["skipped"]
    everything = report["configs"]["+retrieval"]["withholding"][0]  # the engine's confidences, per threshold
    assert everything["min_confidence"] == 0.0 and everything["right_lost"] == 0
    assert report["withholding"].startswith("With completion.min_confidence = 0.5, ")
    page = render_html(report)
    assert page.count("data:image/png;base64,") == 3 and "Fine-tune" in page
    assert ", p = " in page  # +retrieval against the base, on the same samples
    assert main(["--data-dir", str(data_dir), "eval", "--repo", str(repo.root), "--samples", "4"]) == 0
    table = capsys.readouterr().out
    assert "+retrieval" in table and "p = " in table and "held-out samples" in table
    assert "With completion.min_confidence = 0.5" in table
    index = open_index(repo.root, data_dir)
    with pytest.raises(CopilotIndexError, match="no adapter v3"):
        evaluate_repository(index, engine_runtime(index, tiny_model_dir), max_samples=4, target_samples=48,
                            adapter_version="v3")


def test_eval_without_an_index_skips_the_retrieval_configurations(repo, data_dir, tiny_model_dir):
    write_project(repo)
    index = open_index(repo.root, data_dir)
    report = evaluate_repository(index, engine_runtime(index, tiny_model_dir), max_samples=2, target_samples=48)
    assert "exact_match" in report["configs"]["base"]
    assert "copilot-index index" in report["configs"]["+retrieval"]["skipped"]


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

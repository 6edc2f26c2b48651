"""The replay of fusion-weight choices that `probe_policies.py` prints from a `--weight-grid` benchmark run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from probe_policies import as_run, at_least, best_on_queries, clear_gain, product, replay, ties_up  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "probe_policies.py"


def _row(name: str, probe: dict[str, float], by_weight: dict[str, list[float]], before: list[float]) -> dict:
    grid = {w: {"mrr": sum(r) / len(r), "ranks": r} for w, r in by_weight.items()}
    return {"set": name, "queries": len(before), "before": sum(before) / len(before),
            "reciprocal_ranks": {"before": before}, "after_by_weight": grid, "dense_weight": 0.8,
            "probe": {"queries": 30, "configured_weight": 0.7, "mrr@10": probe}}


ROW = _row("toy", {"0.7": 0.50, "0.8": 0.52, "0.9": 0.51, "1.0": 0.45},
           {"0.7": [1.0, 0.0, 0.5, 0.5], "0.8": [1.0, 0.5, 0.5, 0.5], "0.9": [1.0, 1.0, 0.5, 0.5],
            "1.0": [0.5, 0.5, 0.5, 0.5]},
           [0.5, 0.0, 0.5, 0.5])


def test_each_policy_picks_its_weight_from_the_probe_or_the_queries() -> None:
    assert product(ROW) == 0.9  # the product's rule: the highest weight within 0.02 of the probe's best
    assert clear_gain(0.01)(ROW) == 0.8  # best on the probe, and 0.02 above the configured 0.7
    assert clear_gain(0.03)(ROW) == 0.7
    assert ties_up(0.02)(ROW) == 0.9  # 0.51 is within 0.02 of the best 0.52
    assert ties_up(0.001)(ROW) == 0.8
    assert at_least(0.9)(ROW) == 0.9
    assert best_on_queries(ROW) == 0.9
    assert as_run(ROW) == 0.8  # what the run's own train-embeddings chose, whatever the replayed rule says


def test_replay_scores_the_chosen_weight_against_the_search_before_training() -> None:
    cells, pooled, (low, high, _) = replay([ROW], ties_up(0.02))
    assert cells == ["0.750 (+100.0%) at 0.9"]  # 3.0 / 4 against 1.5 / 4
    assert pooled == 1.0 and low <= pooled <= high


def test_the_script_prints_a_row_per_policy_and_refuses_runs_without_a_grid(tmp_path: Path) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"sets": {"": [ROW]}}))
    shown = subprocess.run([sys.executable, str(SCRIPT), str(run)], capture_output=True, text=True, check=True)
    assert "| probe (the product) | 0.750 (+100.0%) at 0.9 |" in shown.stdout
    assert "| as run (the weight its probe chose) | 0.625 (+66.7%) at 0.8 |" in shown.stdout  # as recorded
    assert "| probe, clear gain (0.01) | 0.625 (+66.7%) at 0.8 |" in shown.stdout
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"sets": {"": [{**ROW, "after_by_weight": None}]}}))
    refused = subprocess.run([sys.executable, str(SCRIPT), str(bare)], capture_output=True, text=True)
    assert refused.returncode != 0 and "--weight-grid" in refused.stderr


def test_against_another_run_pairs_each_policy_with_that_runs_ranks_after_training(tmp_path: Path) -> None:
    assert replay([ROW], ties_up(0.02), {"toy": [1.0, 0.5, 0.5, 0.5]})[0] == ["0.750 (+20.0%) at 0.9"]  # 3.0 / 2.5
    run, other = tmp_path / "run.json", tmp_path / "other.json"
    run.write_text(json.dumps({"sets": {"": [ROW]}}))
    other.write_text(json.dumps({"sets": {"": [{"set": "toy", "reciprocal_ranks": {"after": [1.0, 0.5, 0.5, 0.5]}}]}}))
    shown = subprocess.run([sys.executable, str(SCRIPT), str(run), "--against", str(other)], capture_output=True,
                           text=True, check=True)
    assert "| the --against runs after training | 0.625 | |" in shown.stdout
    assert "| probe (the product) | 0.750 (+20.0%) at 0.9 |" in shown.stdout
    other.write_text(json.dumps({"sets": {"": [{"set": "elsewhere", "reciprocal_ranks": {"after": [1.0]}}]}}))
    refused = subprocess.run([sys.executable, str(SCRIPT), str(run), "--against", str(other)], capture_output=True,
                             text=True)
    assert refused.returncode != 0 and "share no set" in refused.stderr


def test_a_run_the_gate_did_not_promote_keeps_the_search_before_under_every_policy() -> None:
    # The gate kept the shipped embedder (bench_train_embeddings: promoted False, no probe, no chosen weight),
    # so the search after training is the search before, whatever weight a policy would pick.
    kept = {**ROW, "set": "kept", "promoted": False, "dense_weight": None, "probe": None,
            "reciprocal_ranks": {"before": [0.5, 0.0, 0.5, 0.5], "after": [0.5, 0.0, 0.5, 0.5]}}
    for policy in (as_run, product, clear_gain(0.01), ties_up(0.02), at_least(0.9), best_on_queries):
        cells, pooled, _ = replay([ROW, kept], policy)
        assert cells[1] == "0.375 (+0.0%) not promoted"
    assert replay([ROW, kept], ties_up(0.02))[1] == 1.5 / 3.0  # (3.0 + 1.5) / (1.5 + 1.5) - 1

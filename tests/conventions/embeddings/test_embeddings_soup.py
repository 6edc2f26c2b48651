"""`train-embeddings --soup N`: N trainings from the same start, averaged into one model (real MiniLM)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from embedding_repo import build_shop

from copilot_index.conventions.embeddings.pairs import PairMiner
from copilot_index.conventions.embeddings.training import TrainingArgs, fine_tune, load_trainable, train_soup
from copilot_index.indexer.config import DEFAULT_EMBEDDER
from copilot_index.indexer.embedder import resolve_embedder_path
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main

ARGS = TrainingArgs(max_steps=2, batch_size=4, learning_rate=1e-4, seed=3)


def _weights(model) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    return {name: value.detach().clone() for name, value in model.state_dict().items() if value.is_floating_point()}


def test_a_soup_of_two_is_the_mean_of_the_two_seeds_trainings(repo) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    pairs = PairMiner(resolve_repo(repo.root)).mine()
    base = resolve_embedder_path(DEFAULT_EMBEDDER)
    alone = []
    for seed in (3, 4):  # what --seed 3 --soup 2 trains: seeds 3 and 4
        model = load_trainable(base)
        fine_tune(model, pairs, dataclasses.replace(ARGS, seed=seed))
        alone.append(_weights(model))
    assert any(not torch.allclose(alone[0][name], alone[1][name]) for name in alone[0])  # two different trainings

    souped = load_trainable(base)
    seen: list[str] = []
    result = train_soup(souped, base, pairs, dataclasses.replace(ARGS, soup=2),
                        lambda description, done, total: seen.append(description))
    assert result.steps == 4 and len(result.losses) == 4
    assert {"Training (1 of 2)", "Training (2 of 2)"} <= set(seen)
    for name, value in _weights(souped).items():
        assert torch.allclose(value, (alone[0][name] + alone[1][name]) / 2, atol=1e-6), name


def test_a_soup_of_one_is_the_plain_training(repo) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    pairs = PairMiner(resolve_repo(repo.root)).mine()
    base = resolve_embedder_path(DEFAULT_EMBEDDER)
    plain, souped = load_trainable(base), load_trainable(base)
    fine_tune(plain, pairs, ARGS)
    assert train_soup(souped, base, pairs, ARGS).steps == 2
    expected = _weights(plain)
    assert all(torch.equal(value, expected[name]) for name, value in _weights(souped).items())


def test_cli_soup_records_it_and_trains_each_seed(repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    code = main(["--data-dir", str(tmp_path / "d"), "train-embeddings", "--repo", str(repo.root), "--json",
                 "--minutes", "0.02", "--batch-size", "4", "--held-out", "0.4", "--epochs", "1", "--soup", "2",
                 "--no-probe"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    manifest = json.loads(Path(out["manifest"]).read_text())
    assert manifest["hyperparameters"]["soup"] == 2
    assert manifest["train_steps"] == out["train_steps"] >= 2  # both trainings' steps
    assert main(["train-embeddings", "--repo", str(repo.root), "--soup", "0"]) == 2
    assert "--soup must be a number of trainings from 1 to 8" in capsys.readouterr().err

"""`train-embeddings --refit`: once the gate and the doc probe passed, the recipe runs again from the base on every
pair, and that model is the one promoted (real MiniLM, real probe, int8 ONNX as searches use it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from embedding_repo import build_shop

from copilot_index.conventions.embeddings import run as run_module
from copilot_index.conventions.embeddings import training as training_module
from copilot_index.conventions.embeddings.pairs import PairMiner
from copilot_index.conventions.embeddings.probe import DocProbe, ProbeOptions
from copilot_index.conventions.embeddings.run import TrainEmbeddingsOptions, TrainEmbeddingsReport, train_embeddings
from copilot_index.conventions.embeddings.training import TrainingArgs, encoder_of, load_trainable
from copilot_index.indexer import DataDir, Index, IndexConfig, onnx_exports
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main


def test_refit_trains_again_on_every_pair_after_the_probe_and_promotes_that_model(  # type: ignore[no-untyped-def]
        repo, tmp_path: Path, monkeypatch) -> None:
    build_shop(repo)
    data_dir = tmp_path / "d"
    assert main(["--data-dir", str(data_dir), "index", str(repo.root)]) == 0
    trained: list[tuple[object, list]] = []  # (model, pairs) of every fine-tuning
    real_fine_tune, real_probe = training_module.fine_tune, DocProbe.run

    def recording(model, pairs, args, progress=None):  # type: ignore[no-untyped-def]
        trained.append((model, list(pairs)))
        return real_fine_tune(model, pairs, args, progress)

    probed: list[str] = []

    def probe(self: DocProbe, embedder_id: str):  # type: ignore[no-untyped-def]
        assert (Path(embedder_id) / "config.json").is_file() and len(trained) == 1  # the gate's model, saved
        probed.append(embedder_id)
        return real_probe(self, embedder_id)

    monkeypatch.setattr(training_module, "fine_tune", recording)
    monkeypatch.setattr(DocProbe, "run", probe)
    monkeypatch.setattr(run_module, "should_promote", lambda base, trained: True)  # two steps may not beat the base
    options = TrainEmbeddingsOptions(training=TrainingArgs(max_steps=2, batch_size=4), held_out_share=0.4,
                                     probe=ProbeOptions(weights=(0.7, 1.0), min_queries=1, tie=0.0,
                                                        top_up_to=50, max_reserved_share=1.0), refit=True)
    exports_before = set(onnx_exports().glob("gate-model-*"))  # the per-user export cache the tests share
    with Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig(embedder_backend="onnx")) as index:
        report = train_embeddings(index, options)

    everything = PairMiner(resolve_repo(repo.root)).mine()
    assert len(trained) == 2
    (gate, gate_pairs), (final, final_pairs) = trained
    # the second training reads every pair: the held-out files' and the probe's withheld docs too
    assert report.pairs["probe_reserved"] > 0 and len(gate_pairs) == report.pairs["train"]
    assert sorted((p.query, p.positive) for p in final_pairs) == sorted((p.query, p.positive) for p in everything)
    assert report.refit is not None and report.refit["pairs"] == len(everything) > len(gate_pairs)
    assert report.refit["steps"] == 2
    # the probe scored the gate's model from a folder of its own, gone afterwards with its ONNX export
    assert len(probed) == 1 and Path(probed[0]).name == "gate-model" and not Path(probed[0]).exists()
    assert set(onnx_exports().glob("gate-model-*")) == exports_before  # pruned by the final model's export
    assert report.dense_weight in (0.7, 1.0)
    # the promoted model, the index's vectors and the lineage are the second training's
    model_dir = DataDir(data_dir).embedders / report.version / "model"
    assert report.active_embedder == str(model_dir)
    text = ["remove an item from the cart"]
    stored = encoder_of(load_trainable(str(model_dir)), 128)(text)
    assert np.allclose(stored, encoder_of(final, 128)(text), atol=1e-5)
    assert not np.allclose(stored, encoder_of(gate, 128)(text), atol=1e-4)
    assert json.loads(Path(report.manifest).read_text())["extra"]["refit"] == report.refit
    with Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig(embedder_backend="onnx")) as index:
        assert index.status().embedder == str(model_dir)
        assert index.search("remove an item from the cart", k=3)[0].path == "shop/cart.py"


def test_the_cli_asks_for_a_refit_and_says_what_it_did(repo, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from copilot_index.server.cli import train_commands

    build_shop(repo)
    asked: list[TrainEmbeddingsOptions] = []
    report = TrainEmbeddingsReport(
        version="v001", base_embedder="default", active_embedder="/d/embedders/v001/model", promoted=True,
        base_mrr=0.5, trained_mrr=0.6, pairs={"train": 30, "held_out": 6, "by_source": {"doc": 40}}, train_steps=3,
        train_seconds=12.0, reembedded_chunks=9, seconds=40.0, manifest="/d/embedders/v001/manifest.json",
        refit={"pairs": 40, "steps": 4, "seconds": 18.0})

    def fake_training(index, options, progress=None):  # type: ignore[no-untyped-def]
        asked.append(options)
        return report

    monkeypatch.setattr(train_commands, "train_embeddings", fake_training)
    cli = ["--data-dir", str(tmp_path / "d"), "train-embeddings", "--repo", str(repo.root)]
    assert main([*cli, "--refit"]) == 0
    assert "from the base on all 40 pairs: 4 steps in 0.3 min" in " ".join(capsys.readouterr().out.split())
    assert main([*cli, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["refit"] == {"pairs": 40, "steps": 4, "seconds": 18.0}
    assert [options.refit for options in asked] == [True, False]

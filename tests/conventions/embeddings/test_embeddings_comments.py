"""`comment` pairs: prose comments inside a function's body, mined from a real temporary git repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from embedding_repo import build_shop, pairs_with_and_without

from copilot_index.conventions.embeddings.comments import body_comments
from copilot_index.conventions.embeddings.pairs import MiningOptions, Pair, PairMiner
from copilot_index.indexer.repo import resolve_repo

PYTHON = '''def ship_order(order, courier):
    """Hand a paid order to the courier."""
    # Orders that were never paid must not leave the warehouse.
    if not order.paid:
        raise ValueError(order.id)
    # label = courier.label(order)
    # courier.pickup(label)
    # noqa: this line only silences a linter warning
    #: the parcel weight in grams, used by the courier
    weight = sum(item.grams for item in order.items)
    # TODO: split heavy parcels in two
    # Heavy parcels go by freight,
    # the rest by the ordinary parcel service.
    service = "freight" if weight > 30_000 else "parcel"
    # the api key is sk_live_51HxQwErTyUiOpAsDfGhJkL0 for the courier account
    return courier.book(order, service, weight)
'''

GO = '''package shop

// restock puts a returned item back on the shelf.
func restock(shelf map[string]int, sku string) int {
	// A returned item goes back to the shelf it came from.
	shelf[sku] = shelf[sku] + 1
	// nolint:gosec // the count cannot overflow here
	return shelf[sku]
}
'''

TEST = '''def test_ship_order():
    # A paid order is booked with the parcel service.
    assert ship_order(order(paid=True), courier()) == "parcel"
'''


def _comments(repo, per_definition: int = 3) -> list[Pair]:  # type: ignore[no-untyped-def]
    repo.write("shop/shipping.py", PYTHON)
    repo.write("shop/restock.go", GO)
    repo.write("tests/test_shipping.py", TEST)
    repo.commit("Import the shop")
    pairs = PairMiner(resolve_repo(repo.root), options=MiningOptions(comments_per_definition=per_definition)).mine()
    return [p for p in pairs if p.source == "comment"]


def test_a_prose_comment_points_at_its_function_without_that_comment_and_the_doc(repo) -> None:  # type: ignore[no-untyped-def]
    by_query = {p.query: p for p in _comments(repo, per_definition=5)}
    paid = by_query["Orders that were never paid must not leave the warehouse."]
    assert paid.path == "shop/shipping.py"
    assert "def ship_order(order, courier):" in paid.positive and "raise ValueError" in paid.positive
    assert "never paid" not in paid.positive  # the comment is not its own answer
    assert "Hand a paid order" not in paid.positive  # nor is the doc
    # a block of lines is one comment, and `#:` attribute comments count
    assert "Heavy parcels go by freight, the rest by the ordinary parcel service." in by_query
    assert "the parcel weight in grams, used by the courier" in by_query
    go = by_query["A returned item goes back to the shelf it came from."]
    assert "func restock" in go.positive and "goes back to the shelf it came from" not in go.positive


def test_code_directives_todos_tests_and_secrets_make_no_pair(repo) -> None:  # type: ignore[no-untyped-def]
    pairs = _comments(repo, per_definition=10)
    queries = " ".join(p.query for p in pairs)
    assert "courier.pickup" not in queries and "label =" not in queries  # commented-out code
    assert "noqa" not in queries and "nolint" not in queries and "TODO" not in queries
    assert not any(p.path.startswith("tests/") for p in pairs)  # a test's steps do not say what code does
    assert not any("sk_live_51HxQwErTyUiOpAsDfGhJkL0" in p.query + p.positive for p in pairs)
    assert any("the api key is" in p.query for p in pairs)  # kept, with the value redacted


def test_a_function_gets_at_most_its_share_and_none_by_default(repo) -> None:  # type: ignore[no-untyped-def]
    pairs = _comments(repo, per_definition=1)
    assert [p.query for p in pairs if p.path.endswith(".py")] == [
        "Orders that were never paid must not leave the warehouse."]
    default = PairMiner(resolve_repo(repo.root)).mine()
    assert [p for p in default if p.source == "comment"] == []


@pytest.mark.parametrize(("language", "code", "expected"), [
    ("python", "def f():\n    # Keep the first of two equal keys.\n    return 1\n", ["Keep the first of two equal keys."]),
    ("python", "# Not read: the signature line is never a comment.\ndef f():\n    return 1\n", []),
    ("python", "def f():\n    ##### a banner of hashes #####\n    return 1\n", []),
    ("python", "def f():\n    # too short\n    return 1\n", []),
    ("javascript", "function f() {\n  // Retry once when the socket closes early.\n  return 1;\n}\n",
     ["Retry once when the socket closes early."]),
    ("javascript", "function f() {\n  // eslint-disable-next-line no-console because of tests\n}\n", []),
    ("go", "func f() {\n\t// if err != nil {\n\t// return err }\n}\n", []),
])
def test_body_comments(language: str, code: str, expected: list[str]) -> None:
    found = body_comments(code, language)
    assert [text for text, _ in found] == expected
    for text, without in found:
        assert text not in without and without.splitlines()[0] == code.splitlines()[0]


def test_train_embeddings_trains_on_comment_pairs_only_when_asked(  # type: ignore[no-untyped-def]
    repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_shop(repo)
    repo.write("shop/shipping.py", PYTHON)
    repo.commit("Ship orders")
    by_source = pairs_with_and_without(repo.root, "--comments", tmp_path, capsys)
    assert by_source["on"]["comment"] >= 3 and by_source["off"]["comment"] == 0
    assert {k: v for k, v in by_source["on"].items() if k != "comment"} == {
        k: v for k, v in by_source["off"].items() if k != "comment"}

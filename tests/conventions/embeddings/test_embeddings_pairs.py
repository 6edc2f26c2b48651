"""Pair mining on a real temporary git repository with history."""

from __future__ import annotations

import pytest
from embedding_repo import build_shop

from copilot_index.conventions.embeddings.doctext import sentence_of
from copilot_index.conventions.embeddings.pairs import (
    Pair,
    PairMiner,
    data_hash,
    dedupe,
    split_by_file,
)
from copilot_index.conventions.embeddings.probe import doc_lines
from copilot_index.indexer import Chunker
from copilot_index.indexer.repo import resolve_repo


@pytest.fixture
def shop_pairs(repo) -> list[Pair]:  # type: ignore[no-untyped-def]
    build_shop(repo)
    return PairMiner(resolve_repo(repo.root)).mine()


def _find(pairs: list[Pair], source: str, query: str) -> list[Pair]:
    return [p for p in pairs if p.source == source and p.query == query]


def test_docstring_first_sentence_points_at_the_definition_without_its_doc(shop_pairs: list[Pair]) -> None:
    [pair] = _find(shop_pairs, "doc", "Add an item to the shopping cart, increasing its quantity.")
    assert pair.path == "shop/cart.py"
    assert "def add_item(cart, item, quantity=1):" in pair.positive
    assert "cart[item] = cart.get(item, 0) + quantity" in pair.positive
    assert "shopping cart" not in pair.positive


def test_doc_comments_of_other_languages_are_mined(shop_pairs: list[Pair]) -> None:
    [block] = _find(shop_pairs, "doc", "Estimate the delivery date for a parcel sent to the given country.")
    assert "function estimateDelivery(country, weightKg)" in block.positive
    assert "Estimate the delivery" not in block.positive
    [line] = _find(shop_pairs, "doc", "Format a postal address as printable label lines.")
    assert "function formatAddressLabel(address)" in line.positive


def test_identifier_words_point_at_the_body_without_the_signature(shop_pairs: list[Pair]) -> None:
    [pair] = _find(shop_pairs, "name", "reserve stock")
    assert "stock[item] -= quantity" in pair.positive
    assert "def reserve_stock" not in pair.positive
    assert "Reserve units" not in pair.positive
    [camel] = _find(shop_pairs, "name", "estimate delivery")
    assert "const days" in camel.positive


def test_test_names_point_at_the_function_they_exercise(shop_pairs: list[Pair]) -> None:
    [pair] = _find(shop_pairs, "test", "add item twice")
    assert pair.path == "shop/cart.py"
    assert "cart[item] = cart.get(item, 0) + quantity" in pair.positive
    assert not any(p.source == "name" and p.query.startswith("test") for p in shop_pairs)


def test_commit_messages_point_at_the_chunks_their_diffs_touched(shop_pairs: list[Pair]) -> None:
    commits = [p for p in shop_pairs if p.source == "commit"]
    [fix] = [p for p in commits if p.query == "Keep the cart intact when removing a missing item"]
    assert "def remove_item" in fix.positive and fix.path == "shop/cart.py"
    assert not any("Import the whole shop" in p.query for p in commits), "a root import commit says nothing"
    [reword] = [p for p in commits if "out of stock" in p.query]
    assert "def reserve_stock" in reword.positive


def test_secrets_are_redacted_from_code_and_messages(shop_pairs: list[Pair]) -> None:
    text = "\n".join(p.query + "\n" + p.positive for p in shop_pairs)
    assert "ghp_4f9Qx2LmZ8rT1vK7bN3cY6wE0uH5jD2sA9pR" not in text
    assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert "<redacted-secret>" in text


def test_duplicates_are_removed_and_noisy_queries_dropped() -> None:
    a = Pair("parse the header line", "def parse(line): ...", "a.py", "doc")
    b = Pair("Parse  the header LINE", "def parse(line): ...", "b.py", "name")
    noisy = [Pair("fix typo", f"code {i}", f"f{i}.py", "commit") for i in range(4)]
    assert dedupe([a, a, b, *noisy], max_positives_per_query=3) == [a]


def test_held_out_split_is_per_file_and_deterministic(shop_pairs: list[Pair]) -> None:
    train, held = split_by_file(shop_pairs, held_out_share=0.3, seed=0)
    assert train and held and len(train) + len(held) == len(shop_pairs)
    assert not {p.path for p in train} & {p.path for p in held}
    assert split_by_file(shop_pairs, held_out_share=0.3, seed=0) == (train, held)
    assert data_hash(list(reversed(shop_pairs))) == data_hash(shop_pairs)


def test_held_out_side_holds_its_share_of_pairs_when_a_few_files_hold_most_of_them() -> None:
    # Four files of 50 pairs and one of a single pair: by file hash alone, the held-out side is often one file,
    # and for some seeds the one-pair file (a promotion decided on one pair).
    pairs = [Pair(f"query {f} {i}", f"code {f} {i}", f"pkg/file{f}.py", "name") for f in range(4) for i in range(50)]
    pairs.append(Pair("tiny query", "tiny code", "pkg/tiny.py", "name"))
    shares = []
    for seed in range(20):
        train, held = split_by_file(pairs, held_out_share=0.15, seed=seed)
        assert len(train) + len(held) == len(pairs) and not {p.path for p in train} & {p.path for p in held}
        assert len(held) >= 0.15 * len(pairs) or len({p.path for p in train}) == 1, seed
        shares.append(len(held) / len(pairs))
    assert min(shares) > 0.15 and max(shares) < 0.5  # one or two 50-pair files, never all but one by accident
    # A file holding most pairs never joins the held-out side to make up its share: training keeps it, unless
    # its own hash holds it out (one seed of 20 here; without the rule, 15 of 20).
    lopsided = [Pair(f"query {i}", f"code {i}", "pkg/big.py", "name") for i in range(200)]
    lopsided += [Pair(f"small {f}", f"small code {f}", f"pkg/small{f}.py", "name") for f in range(6)]
    held_big = [seed for seed in range(20) if "pkg/big.py" in {p.path for p in split_by_file(lopsided, 0.15, seed)[1]}]
    assert len(held_big) <= 2, held_big


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("Return the area of a circle.\n\nMore text.", "Return the area of a circle."),
        ("Split one line. Then more.", "Split one line."),
        ("Getter.", None),
        ("x" * 400 + " a b c", None),
    ],
)
def test_first_sentence(doc: str, expected: str | None) -> None:
    assert sentence_of(doc) == expected


def test_a_doc_comment_loses_the_definitions_own_name_in_front(repo) -> None:  # type: ignore[no-untyped-def]
    repo.write("limits/limits.go", (
        "package limits\n\n"
        "// ClampWidth keeps a requested column width between the minimum and the maximum.\n"
        "func ClampWidth(width int) int {\n\tif width < 4 {\n\t\treturn 4\n\t}\n\tif width > 120 {\n"
        "\t\treturn 120\n\t}\n\treturn width\n}\n\n"
        "// Clamping widths is what this helper does, for tables of text.\n"
        "func Clamp(width int) int {\n\treturn ClampWidth(width) + 0\n}\n"))
    repo.commit("Add width limits")
    docs = {p.query: p.positive for p in PairMiner(resolve_repo(repo.root)).mine() if p.source == "doc"}
    # the header already names it; the query says what it does, as a user who does not know the name would
    assert "func ClampWidth(width int) int {" in docs["keeps a requested column width between the minimum and the maximum."]
    assert "Clamping widths is what this helper does, for tables of text." in docs  # a longer word is not the name


def test_a_doc_block_one_blank_line_above_its_function_is_its_doc(repo) -> None:  # type: ignore[no-untyped-def]
    repo.write("lib/query.js", (
        "'use strict';\n\n"
        "/**\n * Specifies the maximum number of documents the query will return.\n *\n * @param {Number} val\n"
        " * @api public\n */\n\n"
        "Query.prototype.limit = function limit(val) {\n  this.options.limit = val;\n  return this;\n};\n"))
    repo.commit("Add the query's limit")
    [pair] = [p for p in PairMiner(resolve_repo(repo.root)).mine() if p.source == "doc"]
    assert pair.query == "Specifies the maximum number of documents the query will return."
    code = pair.positive.split("\n", 1)[1]  # after the `# path :: symbol` header
    assert code.startswith("Query.prototype.limit = function limit(val) {") and "maximum number" not in code


def test_overloads_and_property_setters_are_documented_where_the_doc_stands(repo) -> None:  # type: ignore[no-untyped-def]
    repo.write("shop/lookup.py", (
        "from typing import overload\n\n\n"
        "@overload\ndef find(key: int) -> int: ...\n\n\n"
        "@overload\ndef find(key: str) -> str: ...\n\n\n"
        "def find(key):\n"
        '    """Look an item up in the catalogue by its number or its name."""\n'
        "    return CATALOGUE[key]\n\n\n"
        "class Shelf:\n"
        "    @property\n    def label(self) -> str:\n"
        '        """The name printed on the front of the shelf."""\n        return self._label\n\n'
        "    @label.setter\n    def label(self, value: str) -> None:\n        self._label = value.strip()\n"
        + "".join(f"\n    def slot_{i}(self):\n        return self.slots[{i}]\n" for i in range(30))))  # a large class
    repo.commit("Add catalogue lookup")
    docs = {p.query: p.positive for p in PairMiner(resolve_repo(repo.root)).mine() if p.source == "doc"}
    found = docs["Look an item up in the catalogue by its number or its name."]
    assert "return CATALOGUE[key]" in found and "catalogue by" not in found
    shelf = docs["The name printed on the front of the shelf."]  # the property's doc, its setter in the chunk
    assert "self._label = value.strip()" in shelf and "printed on" not in shelf
    chunks = {c.symbol: c for c in Chunker().chunk("shop/lookup.py", (repo.root / "shop/lookup.py").read_text())}
    assert (chunks["find"].start_line, doc_lines(chunks["find"])) == (4, (13,))  # the docstring's line
    label = chunks["Shelf.label"]
    assert (label.start_line, label.end_line, doc_lines(label)) == (18, 25, (20,))  # the property's docstring

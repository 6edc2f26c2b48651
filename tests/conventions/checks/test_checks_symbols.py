"""Symbols and naming styles that learned conventions are mined from (ast for Python, tree-sitter otherwise)."""

from __future__ import annotations

import pytest

from copilot_index.conventions.checks.learned import NamingStats
from copilot_index.conventions.checks.symbols import styles_of, symbols


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("python", "class Shape:\n    def area(self):\n        pass\n\nasync def load_all():\n    pass\n",
         [("Shape", "class", 1, 7), ("area", "method", 2, 9), ("load_all", "function", 5, 11)]),
        ("javascript", "function parseHeader(h) {\n  return h;\n}\n", [("parseHeader", "function", 1, 10)]),
        ("go", "package x\n\nfunc OpenStore(p string) error {\n\treturn nil\n}\n", [("OpenStore", "function", 3, 6)]),
        ("java", "class Store {\n  void openFile() {}\n}\n", [("Store", "class", 1, 7), ("openFile", "method", 2, 8)]),
    ],
)
def test_symbols(language: str, text: str, expected: list[tuple[str, str, int, int]]) -> None:
    found = [(s.name, s.kind, s.line, s.column) for s in symbols(text, language)]
    assert sorted(found) == sorted(expected)


@pytest.mark.parametrize(
    ("name", "styles"),
    [("parse_header", {"snake_case"}), ("parseHeader", {"camelCase"}), ("ParseHeader", {"PascalCase"}),
     ("MAX_SIZE", {"UPPER_CASE"}), ("parse", {"snake_case", "camelCase"}), ("__init__", None), ("x", None),
     ("_private_helper", {"snake_case"})],
)
def test_styles_of(name: str, styles: set[str] | None) -> None:
    assert styles_of(name) == styles


def test_a_convention_needs_enough_samples_and_a_clear_majority() -> None:
    stats = NamingStats("python", "function", 40, {"snake_case": 39, "camelCase": 5})
    assert stats.convention(0.9, 20) == ("snake_case", 39 / 40)
    assert stats.convention(0.99, 20) is None
    assert NamingStats("python", "function", 10, {"snake_case": 10}).convention(0.9, 20) is None


def test_unparseable_python_has_no_symbols() -> None:
    assert symbols("def broken(:\n", "python") == []

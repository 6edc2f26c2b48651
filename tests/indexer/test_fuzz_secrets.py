"""The nightly secret fuzzer (`tests/benchmarks/fuzz_secrets.py`, `make fuzz`) runs, and reports what it finds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fuzz_secrets  # noqa: E402

from copilot_index.indexer import Redactor  # noqa: E402
from copilot_index.indexer.redact import Redaction  # noqa: E402


def test_a_few_rounds_of_every_planted_kind_miss_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz_secrets.main(["--rounds", "2"]) == 0
    assert "0 missed" in capsys.readouterr().out


class _BlindToDotenv(Redactor):
    """A redactor that stores `.env` files as they are: the kind of hole the fuzzer exists to find."""

    def redact(self, text: str, path: str = "file.txt") -> Redaction:
        return Redaction(text=text) if path.startswith(".env") else super().redact(text, path)


def test_a_hole_is_reported_by_kind_and_shape_never_by_value() -> None:
    summary = fuzz_secrets.fuzz(1, _BlindToDotenv)
    misses = summary["misses"]
    assert isinstance(misses, dict)
    assert misses[".env: API_KEY={v}"] == 1 and misses[".env: API_KEY={v} (led by 'my')"] == 1
    assert misses["e2e plant: dotenv API_KEY"] == 1
    assert not any(kind.startswith("Dockerfile") for kind in misses)
    shapes = summary["shapes"]
    assert isinstance(shapes, dict)
    assert shapes[".env: API_KEY={v}"].startswith("24 chars, lower+upper+digit")


def test_shape_names_length_and_classes_only() -> None:
    assert fuzz_secrets.shape("$B3ax") == "5 chars, lower+upper+digit, $, a symbol first"
    assert fuzz_secrets.shape("aB3$x") == "5 chars, lower+upper+digit, $, a lower first"

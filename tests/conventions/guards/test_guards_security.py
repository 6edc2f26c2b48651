"""The security guard on the labelled corpus (real bandit, real rules) and on clean code."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import guard_fixtures as fx  # noqa: E402

from copilot_index.conventions.guards import SecurityGuard, Suggestion  # noqa: E402
from copilot_index.conventions.guards.config import SecurityGuardConfig  # noqa: E402
from copilot_index.conventions.guards.rules import BanditScanner, load_rules  # noqa: E402

CORPUS = fx.load_corpus()


@pytest.fixture(scope="module")
def guard() -> SecurityGuard:
    return SecurityGuard()


def at_end(context: str, text: str, language: str = "python") -> Suggestion:
    lines = context.split("\n")
    return Suggestion(text, context, len(lines) - 1, len(lines[-1]), language, "src/x")


@pytest.mark.parametrize("item", CORPUS, ids=[item.id for item in CORPUS])
def test_corpus_snippet_gets_its_labelled_action(guard: SecurityGuard, item: fx.Labelled) -> None:
    decision = guard.check(item.suggestion)
    assert decision.action == item.expect, decision.reason
    assert decision.evidence["findings"]


def test_corpus_covers_four_languages_and_forty_snippets() -> None:
    assert len(CORPUS) >= 40
    families = {{"typescript": "javascript", "cpp": "c"}.get(i.suggestion.language, i.suggestion.language)
                for i in CORPUS}
    assert len(families) >= 4


@pytest.mark.parametrize(
    ("context", "text", "language"),
    [
        ("import subprocess\n\ndef run(args):\n    ", "return subprocess.run(args, check=True)\n", "python"),
        ("def total(items):\n    ", "return sum(item.price for item in items)\n", "python"),
        ("import hashlib\n\ndef digest(b):\n    ", "return hashlib.sha256(b).hexdigest()\n", "python"),
        ("def find(cur, name):\n    ", 'cur.execute("SELECT id FROM users WHERE name = ?", (name,))\n', "python"),
        ("function add(a, b) {\n  ", "return a + b;\n}", "javascript"),
        ("func open(db *sql.DB, id int) {\n\t", 'db.Query("SELECT name FROM t WHERE id = ?", id)\n}', "go"),
        ("class A {\n  int f(int x) {\n    ", "return Math.abs(x);\n  }\n}", "java"),
        ("void f(char *d, const char *s, size_t n) {\n  ", "strncpy(d, s, n - 1);\n}", "c"),
    ],
)
def test_clean_suggestions_are_allowed(guard: SecurityGuard, context: str, text: str, language: str) -> None:
    assert guard.check(at_end(context, text, language)).action == "allow"


def test_a_suggestion_completing_a_call_from_the_prefix_is_judged_in_context(guard: SecurityGuard) -> None:
    context = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, "
    decision = guard.check(at_end(context, "shell=True)\n"))
    assert decision.action == "block" and "B602" in decision.reason


def test_an_incomplete_python_suggestion_is_still_scanned(guard: SecurityGuard) -> None:
    context = "import yaml\n\ndef load(path):\n    with open(path) as f:\n        "
    decision = guard.check(at_end(context, "data = yaml.load(f)\n        if data is None:\n"))
    assert decision.action == "block" and "B506" in decision.reason


def test_findings_only_in_the_prefix_do_not_block_the_suggestion(guard: SecurityGuard) -> None:
    context = "import os\n\ndef f(x):\n    os.system(x)\n    "
    assert guard.check(at_end(context, "return len(x)\n")).action == "allow"


def test_thresholds_are_configurable(guard: SecurityGuard) -> None:
    lenient = SecurityGuard(SecurityGuardConfig(block_severity="high", annotate_severity="high"), guard.bandit)
    md5 = next(item for item in CORPUS if item.id == "py-md5-checksum")
    assert lenient.check(md5.suggestion).action == "allow"
    strict = SecurityGuard(SecurityGuardConfig(block_severity="medium"), guard.bandit)
    assert strict.check(md5.suggestion).action == "block"


def test_rules_are_data_with_ids_cwes_and_severities() -> None:
    rules, overrides = load_rules()
    assert {r.id for r in rules} >= {"JS001", "GO003", "JAVA003", "C001", "CRED001"}
    assert all(r.severity in ("low", "medium", "high") and r.cwe.startswith("CWE-") for r in rules)
    assert overrides["B307"] == "high"


@pytest.mark.parametrize(
    ("context", "text", "rule"),
    [
        ("def connect():\n    ", 'password = "Kq7Rw2Lp9Zt4"\n', "B105"),
        ("def connect(db):\n    ", 'db.login(user="app", password="Kq7Rw2Lp9Zt4")\n', "B106"),
        ("", 'def connect(user, password="Kq7Rw2Lp9Zt4"):\n    return user\n', "B107"),
    ],
)
def test_hardcoded_password_findings_never_quote_the_value(
    guard: SecurityGuard, context: str, text: str, rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # what `-vv` turns on
    fresh = SecurityGuard(bandit=BanditScanner())
    decision = fresh.check(at_end(context, text))
    findings = decision.evidence["findings"]
    assert rule in {f["rule"] for f in findings}
    assert "Kq7Rw2Lp9Zt4" not in decision.reason + json.dumps(decision.evidence)
    assert "Kq7Rw2Lp9Zt4" not in caplog.text  # bandit's own debug records quote the code they scan
    scanned = guard.bandit.scan(context + text)  # what `copilot-index check` reports
    assert any(f.rule == rule and f.message.startswith("Possible hardcoded password") for f in scanned)
    assert all("Kq7Rw2Lp9Zt4" not in f.message for f in scanned)

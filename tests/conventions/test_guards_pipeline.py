"""GuardPipeline: configuration from .copilot-index.toml, the audit log, failures contained."""

from __future__ import annotations

import json
from pathlib import Path

from copilot_index.conventions.guards import AUDIT_FILE, Decision, GuardConfig, GuardPipeline, Suggestion


def test_for_repository_runs_all_guards_and_audits_each_decision(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pipeline = GuardPipeline.for_repository(tmp_path, data_dir, store=None)
    assert [g.name for g in pipeline.guards] == ["secrets", "security", "license"]
    secret = 'AWS_SECRET_ACCESS_KEY = "kR9vB2mXq7LpW4zN8sT1yH6cJ3fD0aGeUiOlPb5Q"\n'
    blocked = pipeline.check(Suggestion(secret, "", 0, 0, "python", "a.py"))
    clean = pipeline.check(Suggestion("return a + b\n", "def f(a, b):\n    ", 1, 4, "python", "a.py"))
    assert blocked.blocked and blocked.action == "block" and not clean.blocked and clean.action == "allow"
    records = [json.loads(line) for line in (data_dir / AUDIT_FILE).read_text().splitlines()]
    assert [r["action"] for r in records] == ["block", "allow"]
    assert {d["guard"] for d in records[0]["decisions"]} == {"secrets", "security", "license"}
    assert "kR9vB2mXq7" not in (data_dir / AUDIT_FILE).read_text()  # the log holds a digest, never the text
    assert len(records[0]["suggestion_sha256"]) == 64


def test_config_switches_guards_off_and_bad_values_fall_back(tmp_path: Path) -> None:
    (tmp_path / ".copilot-index.toml").write_text(
        "[guards]\naudit = false\n[guards.secrets]\nenabled = false\n"
        "[guards.security]\nblock_severity = 'critical'\n[guards.license]\nmin_match_chars = -5\nbogus = 1\n"
    )
    config = GuardConfig.load(tmp_path)
    assert config.security.block_severity == "high" and config.license.min_match_chars == 150
    assert len(config.warnings) == 3 and any("critical" not in w and "bogus" in w for w in config.warnings)
    pipeline = GuardPipeline.for_repository(tmp_path, tmp_path / "data", None, config)
    assert [g.name for g in pipeline.guards] == ["security", "license"] and pipeline.audit is None


def test_invalid_toml_gives_defaults_and_one_warning(tmp_path: Path) -> None:
    (tmp_path / ".copilot-index.toml").write_text("[guards\n")
    config = GuardConfig.load(tmp_path)
    assert config == GuardConfig() and len(config.warnings) == 1


class _Broken:
    name = "broken"

    def check(self, suggestion: Suggestion) -> Decision:
        raise RuntimeError("boom")


def test_a_failing_guard_is_logged_and_allows(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    result = GuardPipeline([_Broken()]).check(Suggestion("x", "", 0, 0, "python", "a.py"))
    assert result.action == "allow" and "guard failed" in result.decisions[0].reason
    assert "boom" in caplog.text


def test_out_of_range_cursor_is_clamped() -> None:
    s = Suggestion("y = 2\n", "x = 1\n", 99, 99, "python", "a.py")
    assert s.offset() == len("x = 1\n") and s.spliced()[0] == "x = 1\ny = 2\n"

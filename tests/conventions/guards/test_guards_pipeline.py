"""GuardPipeline: configuration from .copilot-index.toml, the audit log, failures contained."""

from __future__ import annotations

import json
from pathlib import Path

from copilot_index.conventions.guards import Decision, GuardConfig, GuardPipeline, Suggestion
from copilot_index.indexer import DataDir, Index, RepoInfo, set_trusted


def _index(tmp_path: Path) -> Index:
    return Index(RepoInfo(tmp_path, None), DataDir(tmp_path / "data"))


def test_for_index_runs_all_guards_and_audits_each_decision(tmp_path: Path) -> None:
    index = _index(tmp_path)
    pipeline = GuardPipeline.for_index(index)
    assert [g.name for g in pipeline.guards] == ["secrets", "security", "license"]
    secret = 'AWS_SECRET_ACCESS_KEY = "kR9vB2mXq7LpW4zN8sT1yH6cJ3fD0aGeUiOlPb5Q"\n'
    blocked = pipeline.check(Suggestion(secret, "", 0, 0, "python", "a.py"))
    clean = pipeline.check(Suggestion("return a + b\n", "def f(a, b):\n    ", 1, 4, "python", "a.py"))
    assert blocked.blocked and blocked.action == "block" and not clean.blocked and clean.action == "allow"
    records = [json.loads(line) for line in index.data_dir.audit_log.read_text().splitlines()]
    assert [r["action"] for r in records] == ["block", "allow"]
    assert {d["guard"] for d in records[0]["decisions"]} == {"secrets", "security", "license"}
    assert "kR9vB2mXq7" not in index.data_dir.audit_log.read_text()  # the log holds a digest, never the text
    assert len(records[0]["suggestion_sha256"]) == 64


GUARDS_OFF = (
    "[guards]\naudit = false\n[guards.secrets]\nenabled = false\n"
    "[guards.security]\nblock_severity = 'critical'\n[guards.license]\nmin_match_chars = -5\nbogus = 1\n"
)


def test_a_trusted_repository_switches_guards_off_and_bad_values_fall_back(tmp_path: Path) -> None:
    (tmp_path / ".copilot-index.toml").write_text(GUARDS_OFF)
    set_trusted(tmp_path)
    config = GuardConfig.load(tmp_path)
    assert config.security.block_severity == "high" and config.license.min_match_chars == 150
    assert len(config.warnings) == 3 and any("critical" not in w and "bogus" in w for w in config.warnings)
    pipeline = GuardPipeline.for_index(_index(tmp_path), config)
    assert [g.name for g in pipeline.guards] == ["security", "license"] and pipeline.audit is None


def test_an_untrusted_repository_cannot_switch_guards_off(tmp_path: Path) -> None:
    (tmp_path / ".copilot-index.toml").write_text(GUARDS_OFF)
    config = GuardConfig.load(tmp_path)
    assert config == GuardConfig()
    assert len(config.warnings) == 1 and "copilot-index trust" in config.warnings[0]
    assert "guards.audit" in config.warnings[0] and "guards.secrets" in config.warnings[0]
    pipeline = GuardPipeline.for_index(_index(tmp_path), config)
    assert [g.name for g in pipeline.guards] == ["secrets", "security", "license"] and pipeline.audit is not None


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

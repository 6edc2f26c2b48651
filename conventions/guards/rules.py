"""Security rules kept as data (`rules/*.toml`), and in-process bandit for Python.

Both produce `Finding`s with a 1-based line, so the security guard (on a suggestion) and
`copilot-index check` (on changed lines of a file) share them.
"""

from __future__ import annotations

import io
import logging
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

log = logging.getLogger(__name__)

BANDIT_MESSAGES = {
    "B105": "Possible hardcoded password string",
    "B106": "Possible hardcoded password passed as a function argument",
    "B107": "Possible hardcoded password as a default argument",
}
"""bandit's messages for these tests quote the value; these say the same without it (output lands in CI logs)."""


@dataclass(frozen=True)
class Rule:
    id: str
    languages: tuple[str, ...]
    severity: str
    cwe: str
    message: str
    pattern: re.Pattern[str]

    def applies_to(self, language: str) -> bool:
        return "*" in self.languages or language in self.languages


@dataclass(frozen=True)
class Finding:
    """One security issue in a text."""

    rule: str
    severity: str
    """"low", "medium" or "high" (after this project's overrides)."""
    message: str
    line: int
    """1-based line where it starts."""
    end_line: int
    column: int = 1
    cwe: str = ""
    confidence: str = "high"
    start: int = -1
    """Character offset of the match in the scanned text (-1 for bandit findings)."""
    end: int = -1

    def as_json(self) -> dict[str, object]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message, "line": self.line,
                "cwe": self.cwe, "confidence": self.confidence}


@cache
def load_rules() -> tuple[tuple[Rule, ...], dict[str, str]]:
    """All rules from the package's `rules/*.toml`, and bandit's per-test severity overrides."""
    rules: list[Rule] = []
    overrides: dict[str, str] = {}
    folder = resources.files("copilot_index.conventions.guards") / "rules"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        overrides.update({k: str(v).lower() for k, v in data.get("bandit_severity", {}).items()})
        for raw in data.get("rule", []):
            rules.append(Rule(raw["id"], tuple(raw["languages"]), raw["severity"].lower(), raw.get("cwe", ""),
                              raw["message"], re.compile(raw["pattern"])))
    return tuple(rules), overrides


def scan_rules(text: str, language: str) -> list[Finding]:
    """Findings of the data rules for `language` in `text`."""
    rules, _ = load_rules()
    found: list[Finding] = []
    for rule in rules:
        if not rule.applies_to(language):
            continue
        for match in rule.pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            found.append(Finding(rule.id, rule.severity, rule.message, line,
                                 line + text.count("\n", match.start(), match.end()), column, rule.cwe,
                                 start=match.start(), end=match.end()))
    return found


class BanditScanner:
    """bandit's own node visitor and test set, run in-process on source text (no subprocess, no file)."""

    def __init__(self) -> None:
        # bandit's debug records quote the code it scans (AST dumps, "Issue identified ... 'the password'").
        bandit_log = logging.getLogger("bandit")
        bandit_log.setLevel(max(bandit_log.getEffectiveLevel(), logging.WARNING))
        # bandit's plugin loader logs an error for its optional SARIF formatter; its tests load fine.
        stevedore_log = logging.getLogger("stevedore.extension")
        level = stevedore_log.level
        stevedore_log.setLevel(logging.CRITICAL)
        try:
            from bandit.core import config as b_config
            from bandit.core import test_set
        finally:
            stevedore_log.setLevel(level)
        self._tests = test_set.BanditTestSet(b_config.BanditConfig())
        _, self._overrides = load_rules()

    def scan(self, source: str, filename: str = "./suggestion.py") -> list[Finding]:
        """bandit's findings in `source`; raises SyntaxError when it does not parse."""
        from bandit.core import meta_ast, metrics, node_visitor

        # A path with a folder part, so bandit can name a module for it (it never opens the file).
        data = source.encode("utf-8", "surrogatepass")
        counts = metrics.Metrics()
        counts.begin(filename)
        visitor = node_visitor.BanditNodeVisitor(
            filename, io.BytesIO(data), meta_ast.BanditMetaAst(), self._tests, False, {}, counts
        )
        visitor.process(data)
        found = []
        for issue in visitor.tester.results:
            severity = self._overrides.get(issue.test_id, str(issue.severity).lower())
            lines = list(issue.linerange) or [issue.lineno]
            cwe = f"CWE-{issue.cwe.id}" if getattr(issue, "cwe", None) and issue.cwe.id else ""
            message = BANDIT_MESSAGES.get(issue.test_id, issue.text)
            found.append(Finding(issue.test_id, severity, message, int(issue.lineno), int(max(lines)),
                                 int(issue.col_offset) + 1, cwe, str(issue.confidence).lower()))
        return found

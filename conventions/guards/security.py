"""Security guard: bandit (in-process) for Python, data rules for other languages; high blocks, medium annotates."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace

from .base import Action, Decision, Suggestion, allow, severity_rank
from .config import SecurityGuardConfig
from .rules import BanditScanner, Finding, scan_rules

_BLOCK_END = (")", "]", "}", "#", "else", "elif", "except", "finally")
_DEF = re.compile(r"\s*(?:async\s+)?def\s")
MAX_CONTEXT_LINES = 300
"""A function (or top-level block) longer than this is not scanned whole; the suggestion is judged alone."""
_WEAK_HASH_CWES = ("CWE-327", "CWE-328")
_PASSWORD = re.compile(r"(?i)passw|\bpwd\b|passphrase")


class SecurityGuard:
    """Finds insecure code in a suggestion, judged in the context it is spliced into."""

    name = "security"

    def __init__(self, config: SecurityGuardConfig | None = None, bandit: BanditScanner | None = None) -> None:
        self.config = config or SecurityGuardConfig()
        self.bandit = bandit or BanditScanner()

    def check(self, suggestion: Suggestion) -> Decision:
        if not suggestion.text.strip():
            return allow(self.name, "empty suggestion")
        findings = self.findings(suggestion)
        return self.decide(findings)

    def decide(self, findings: list[Finding]) -> Decision:
        block_at = severity_rank(self.config.block_severity)
        annotate_at = severity_rank(self.config.annotate_severity)
        worst = max(findings, key=lambda f: severity_rank(f.severity), default=None)
        if worst is None or severity_rank(worst.severity) < annotate_at:
            return allow(self.name)
        action: Action = "block" if severity_rank(worst.severity) >= block_at else "annotate"
        relevant = [f for f in findings if severity_rank(f.severity) >= annotate_at]
        reason = f"{worst.rule}: {worst.message}" + (f" ({worst.cwe})" if worst.cwe else "")
        return Decision(self.name, action, reason, {"findings": [f.as_json() for f in relevant]})

    def findings(self, suggestion: Suggestion) -> list[Finding]:
        """Findings that touch the suggestion's own text."""
        found = self._rule_findings(suggestion)
        if suggestion.language == "python":
            found += self._bandit_findings(suggestion)
        if any(f.cwe in _WEAK_HASH_CWES for f in found) and _PASSWORD.search(_nearby(suggestion)):
            found = [
                replace(f, severity="high", cwe="CWE-916", message=f"{f.message}; used for a password")
                if f.cwe in _WEAK_HASH_CWES else f
                for f in found
            ]
        return found

    def _rule_findings(self, s: Suggestion) -> list[Finding]:
        spliced, start, end = s.spliced()
        region_start = spliced.rfind("\n", 0, start) + 1
        region_end = spliced.find("\n", end)
        region = spliced[region_start : len(spliced) if region_end < 0 else region_end]
        first_line = s.suggestion_lines()[0]
        found = []
        for f in scan_rules(region, s.language):
            if f.start + region_start < end and f.end + region_start > start:
                found.append(replace(f, line=f.line + first_line - 1, end_line=f.end_line + first_line - 1))
        return found

    def _bandit_findings(self, s: Suggestion) -> list[Finding]:
        min_confidence = severity_rank(self.config.min_confidence)
        for source, first, last, shift in python_contexts(s):
            try:
                found = self.bandit.scan(source)
            except SyntaxError:
                continue
            return [
                replace(f, line=f.line + shift, end_line=f.end_line + shift)
                for f in found
                if f.end_line >= first and f.line <= last and severity_rank(f.confidence) >= min_confidence
            ]
        return []


def python_contexts(s: Suggestion) -> list[tuple[str, int, int, int]]:
    """Candidate sources that put the suggestion in a parseable context, most faithful first.

    Each is (source, first and last 1-based line of the suggestion in it, shift to document lines):
    the document's imports plus the top-level block holding the cursor; the same without the code
    after the suggestion, then with the suggestion cut to fewer and fewer lines; then the same with
    the suggestion alone (dedented) after the imports.
    """
    spliced, _, _ = s.spliced()
    lines = spliced.split("\n")
    first, last = s.suggestion_lines()
    top, bottom, indent = _enclosing_function(lines, first, last)
    if top < 0:  # not inside a function: the top-level statement (class, loop, ...) holding the cursor
        top, indent = first - 1, 0
        while top > 0 and not _starts_block(lines[top]):
            top -= 1
        while top > 0 and lines[top - 1].startswith("@"):
            top -= 1
        bottom = last
        while bottom < len(lines) and not _starts_block(lines[bottom]):
            bottom += 1
    if bottom - top > MAX_CONTEXT_LINES:
        bottom = top  # too big to scan per keystroke: judge the suggestion alone
    lines = lines[:top] + [line[indent:] if line[:indent].isspace() else line for line in lines[top:bottom]]
    imports = [line for line in lines[:top] if line.startswith(("import ", "from ")) and not line.endswith(("(", "\\"))]
    head = len(imports)
    offset = head - top  # document line n is line n + offset in the in-context sources
    out = []
    for end in (bottom, *range(last, first - 1, -1)) if bottom > top else ():
        # the whole function, then without what follows the suggestion, cut shorter and shorter
        source = "\n".join(imports + lines[top:end]) + "\n"
        out.append((source, first + offset, min(last, end) + offset, -offset))
    at = s.offset()
    line_prefix = s.document_text[s.document_text.rfind("\n", 0, at) + 1 : at]
    pieces = textwrap.dedent(line_prefix + s.text).rstrip("\n").split("\n")
    for keep in range(len(pieces), 0, -1):  # the suggestion alone, dedented, then cut shorter
        source = "\n".join(imports + pieces[:keep]) + "\n"
        out.append((source, head + 1, head + keep, first - 1 - head))
    return out


def _enclosing_function(lines: list[str], first: int, last: int) -> tuple[int, int, int]:
    """(top, bottom, indentation) of the innermost `def` holding lines first..last (1-based); top -1 if none."""

    def indentation(line: str) -> int:
        return len(line) - len(line.lstrip())

    body = [lines[i] for i in range(first - 1, min(last, len(lines))) if lines[i].strip()]
    level = indentation(body[0]) + 1 if body else 1
    top = -1
    for i in range(first - 1, -1, -1):
        line = lines[i]
        if not line.strip() or indentation(line) >= level:
            continue
        level = indentation(line)
        if _DEF.match(line):
            top = i
            break
        if level == 0:
            return -1, -1, 0
    if top < 0:
        return -1, -1, 0
    bottom = last
    while bottom < len(lines) and (not lines[bottom].strip() or indentation(lines[bottom]) > level):
        bottom += 1
    return top, bottom, level


def _nearby(s: Suggestion, lines_before: int = 3) -> str:
    """The suggestion with the few document lines before it (where a password is usually named)."""
    before = s.document_text[: s.offset()].split("\n")[-(lines_before + 1) :]
    return "\n".join(before) + s.text


def _starts_block(line: str) -> bool:
    """A top-level line that starts a new statement (not a continuation, comment or clause)."""
    return bool(line) and not line[0].isspace() and not line.startswith(_BLOCK_END)


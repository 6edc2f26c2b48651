"""ConventionChecker: the guards' policy plus declared and learned conventions, on added and changed lines.

Codes (compiler style, `path:line:col: CODE message`):
  CIX100  secret-like value                      CIX300  licence header other than the project's
  B###    bandit finding (Python)                CIX301  required licence header missing
  <RULE>  security rule from guards/rules/*.toml CIX401  banned import      CIX402  banned API
  CIX403  name breaks a declared naming rule     CIX501  name breaks a learned naming style
  CIX502  new file lacks the licence header nearly every file carries
Medium-severity security findings are warnings; everything else is an error (exit 1).
A line ending in a comment `copilot-index: ignore` (or `copilot-index: ignore[CODE,...]`) is exempt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from copilot_index.conventions.guards.config import GuardConfig
from copilot_index.conventions.guards.rules import BanditScanner, Finding, scan_rules
from copilot_index.indexer import (
    PEM_KIND,
    LicenseDetector,
    Redactor,
    comment_prefix,
    header_license,
    is_code,
    language_for_path,
    same_license,
)

from .changes import ChangedFile
from .config import ConventionsConfig
from .learned import LearnedConventions
from .symbols import styles_of, symbols

_IMPORTS = {
    "python": re.compile(r"^\s*(?:import\s+([\w.]+(?:\s*,\s*[\w.]+)*)|from\s+([\w.]+)\s+import)"),
    "javascript": re.compile(
        r"""require\(\s*['"]([^'"]+)['"]\s*\)|\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]"""
    ),
    "go": re.compile(r"""^\s*(?:import\s+)?(?:[\w.]+\s+)?"([\w./\-]+)"\s*$"""),
    "java": re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+)"),
    "c": re.compile(r"""^\s*#\s*include\s*[<"]([^>"]+)[>"]"""),
}
_IMPORT_ALIASES = {"typescript": "javascript", "tsx": "javascript", "cpp": "c"}
_IGNORE = re.compile(r"copilot-index:\s*ignore(?:\[([\w, ]+)\])?")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"
    """"error" fails the check; "warning" is reported only."""

    def compiler_line(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {prefix}{self.message}"

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "column": self.column, "code": self.code,
                "message": self.message, "severity": self.severity}


class ConventionChecker:
    """Checks changed lines of files; loads no model, so it is fast enough for a pre-commit hook."""

    def __init__(
        self,
        root: Path,
        conventions: ConventionsConfig | None = None,
        guards: GuardConfig | None = None,
        learned: LearnedConventions | None = None,
    ) -> None:
        self.root = root
        self.conventions = conventions or ConventionsConfig.load(root)
        self.guards = guards or GuardConfig.load(root)
        self.learned = learned
        self.redactor = Redactor()
        self.bandit = BanditScanner() if self.guards.security.enabled else None
        detector = LicenseDetector(root)
        self.project_license = self.guards.license.project_license or detector.project_license()

    def check(self, files: list[ChangedFile]) -> list[Violation]:
        found: list[Violation] = []
        for changed in files:
            lines = changed.text.split("\n")
            found.extend(
                v for v in self.check_file(changed)
                if (v.line in changed.lines or v.line == 0) and not _ignored(v, lines)
            )
        return sorted({(v.path, v.line, v.column, v.code, v.message): v for v in found}.values(),
                      key=lambda v: (v.path, v.line, v.column, v.code))

    def check_file(self, f: ChangedFile) -> list[Violation]:
        language = language_for_path(f.path) or "text"
        out: list[Violation] = []
        if self.guards.secrets.enabled:
            out += self._secrets(f)
        if self.guards.security.enabled:
            out += self._security(f, language)
        out += self._license(f, language)
        out += self._declared(f, language)
        if self.conventions.learned and self.learned is not None:
            out += self._learned(f, language)
        return [Violation(v.path, max(v.line, 1), v.column, v.code, v.message, v.severity) for v in out]

    def _secrets(self, f: ChangedFile) -> list[Violation]:
        redaction = self.redactor.redact(f.text, f.path)
        if not redaction.count:
            return []
        before, after = f.text.split("\n"), redaction.text.split("\n")
        runs: list[tuple[int, int, str]] = []  # (first line, last line, kinds): a key block's lines are one finding
        for i, (a, b) in enumerate(zip(before, after, strict=False)):
            if a != b and i + 1 in f.lines:
                kinds = ", ".join(sorted(redaction.line_kinds.get(i + 1, ()))) or PEM_KIND
                if kinds == PEM_KIND and runs and runs[-1][2] == PEM_KIND and runs[-1][1] == i:
                    runs[-1] = (runs[-1][0], i + 1, kinds)
                else:
                    runs.append((i + 1, i + 1, kinds))
        out = []
        for first, last, kinds in runs:
            where = f", lines {first}-{last}" if last > first else ""
            message = f"possible secret ({kinds}{where}); keep it out of the repository"
            out.append(Violation(f.path, first, 1, "CIX100", message))
        return out

    def _security(self, f: ChangedFile, language: str) -> list[Violation]:
        findings: list[Finding] = list(scan_rules(f.text, language))
        if language == "python" and self.bandit is not None:
            try:
                findings += self.bandit.scan(f.text, "./" + f.path)
            except (SyntaxError, ValueError):
                pass  # a file that does not parse yet: the data rules still ran
        return [self._finding(f.path, x) for x in findings if x.severity in ("medium", "high")]

    def _finding(self, path: str, x: Finding) -> Violation:
        severity = "error" if x.severity == "high" else "warning"
        cwe = f" ({x.cwe})" if x.cwe else ""
        return Violation(path, x.line, x.column, x.rule, f"{x.message}{cwe}", severity)

    def _license(self, f: ChangedFile, language: str) -> list[Violation]:
        out: list[Violation] = []
        declared = header_license(f.text)
        if declared and self.project_license and not same_license(declared, self.project_license):
            line = _header_line(f.text)
            out.append(Violation(f.path, line, 1, "CIX300",
                                 f"licence header {declared} differs from the project's {self.project_license}"))
        required = self.conventions.required_license_header
        if required and f.added and is_code(language) and not same_license(declared, required):
            out.append(Violation(f.path, 1, 1, "CIX301", f"new file lacks the required {required} licence header "
                                 f"(add `{comment_prefix(language)} SPDX-License-Identifier: {required}`)"))
        return out

    def _declared(self, f: ChangedFile, language: str) -> list[Violation]:
        out: list[Violation] = []
        lines = f.text.split("\n")
        imports = _IMPORTS.get(_IMPORT_ALIASES.get(language, language))
        marker = comment_prefix(language)
        apis = [(api, re.compile(r"(?<![\w.])" + re.escape(api) + r"\b")) for api in self.conventions.banned_apis]
        for number in sorted(f.lines):
            if number > len(lines):
                continue
            line = lines[number - 1]
            if line.lstrip().startswith(marker):
                continue
            if imports is not None and self.conventions.banned_imports:
                for match in imports.finditer(line):
                    names = [n.strip() for group in match.groups() if group for n in group.split(",")]
                    for name in names:
                        banned = _banned(name, self.conventions.banned_imports)
                        if banned:
                            out.append(Violation(f.path, number, match.start() + 1, "CIX401",
                                                 f"import of {name} is banned by [conventions] banned_imports ({banned})"))
            for api, pattern in apis:
                for match in pattern.finditer(line):
                    out.append(Violation(f.path, number, match.start() + 1, "CIX402",
                                         f"{api} is banned by [conventions] banned_apis"))
        rules = self.conventions.naming.get(language, {})
        if rules:
            for symbol in symbols(f.text, language):
                expected = rules.get(symbol.kind)
                if expected and not re.search(expected, symbol.name):
                    out.append(Violation(f.path, symbol.line, symbol.column, "CIX403",
                                         f"{symbol.kind} name {symbol.name} does not match the declared "
                                         f"pattern {expected} for {language}"))
        return out

    def _learned(self, f: ChangedFile, language: str) -> list[Violation]:
        assert self.learned is not None
        share, samples = self.conventions.learned_min_share, self.conventions.learned_min_samples
        out: list[Violation] = []
        declared_kinds = set(self.conventions.naming.get(language, {}))
        for symbol in symbols(f.text, language) if is_code(language) else []:
            stats = self.learned.naming_for(language, symbol.kind)
            found = stats.convention(share, samples) if stats else None
            fits = styles_of(symbol.name)
            if found is None or fits is None or symbol.kind in declared_kinds or found[0] in fits:
                continue
            assert stats is not None
            out.append(Violation(
                f.path, symbol.line, symbol.column, "CIX501",
                f"{symbol.kind} name {symbol.name} is not {found[0]}; {found[1]:.0%} of {stats.samples} "
                f"{language} {symbol.kind} names in this repository are (learned convention)"))
        header = self.learned.header_convention(share, samples)
        if header and f.added and is_code(language) and not self.conventions.required_license_header:
            spdx, fraction, files = header
            if not same_license(header_license(f.text), spdx):
                out.append(Violation(
                    f.path, 1, 1, "CIX502",
                    f"new file lacks the {spdx} licence header that {fraction:.0%} of {files} source files "
                    f"carry (learned convention)"))
        return out


def _ignored(v: Violation, lines: list[str]) -> bool:
    """True when the violation's line carries a `copilot-index: ignore` comment covering its code."""
    if not 1 <= v.line <= len(lines):
        return False
    match = _IGNORE.search(lines[v.line - 1])
    if match is None:
        return False
    return match.group(1) is None or v.code in {c.strip() for c in match.group(1).split(",")}


def _banned(name: str, banned: list[str]) -> str | None:
    for entry in banned:
        if name == entry or name.startswith((entry + ".", entry + "/")):
            return entry
    return None


def _header_line(text: str) -> int:
    for i, line in enumerate(text.split("\n")[:40], 1):
        if "SPDX-License-Identifier" in line or "License" in line or "LICENSE" in line:
            return i
    return 1

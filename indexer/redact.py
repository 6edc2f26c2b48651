"""Secret redaction: secrets are replaced by a placeholder before anything is stored or embedded.

Detection uses detect-secrets' plugins and filters plus an entropy check of quoted
strings, and whole PEM private-key blocks. Line count never changes, so chunk line
numbers stay true. Only SHA-256 digests of redacted values are kept, so later guards can
recognise a suggestion that reproduces one without the value being stored.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.settings import default_settings

from .keywords import split_identifier

PLACEHOLDER = "<redacted-secret>"

# Lines without any of these cannot hold a secret detect-secrets would report, so the
# (comparatively slow) plugin pass only sees the few lines that might.
_CANDIDATE = re.compile(
    r"[A-Za-z0-9+/=_\-]{16,}|pass|secret|token|key|auth|cred|pwd|private|bearer|://[^/\s:]+:[^@\s]+@",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"""(["'])([^"'\s]{20,})\1""")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")


@dataclass
class Redaction:
    """The redacted text and what was removed (as digests only)."""

    text: str
    count: int = 0
    digests: set[str] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(value: str) -> bool:
    """High-entropy token with mixed character classes: likely a key, not an identifier or path."""
    if len(value) < 20 or "/" in value.strip("/") and value.count("/") > 2:
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if classes < 3:
        return False
    parts = split_identifier(value)
    if parts and sum(len(p) for p in parts) / len(parts) >= 3.0:
        return False  # words: CamelCase, snake_case or dotted identifiers, not random characters
    return shannon_entropy(value) >= 4.2


def value_digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", errors="replace")).hexdigest()


def _whole_token(line: str, value: str) -> str:
    """The full token a plugin's short match starts (detect-secrets' GitHub plugin reports only `ghp`)."""
    if len(value) >= 6:
        return value
    match = re.search(re.escape(value) + r"[A-Za-z0-9_\-]{16,}", line)
    return match.group(0) if match else value


class Redactor:
    """Finds and replaces secrets in file text."""

    def redact(self, text: str, path: str = "file.txt") -> Redaction:
        lines = text.split("\n")
        result = Redaction(text=text)
        self._redact_pem_blocks(lines, result)
        candidates = [(i, line) for i, line in enumerate(lines) if _CANDIDATE.search(line)]
        if candidates:
            self._redact_plugins(lines, candidates, path, result)
            for i, _ in candidates:
                self._redact_entropy(lines, i, result)
        if result.count:
            result.text = "\n".join(lines)
        return result

    def _replace(self, lines: list[str], i: int, value: str, kind: str, result: Redaction) -> None:
        if not value or value == PLACEHOLDER or value not in lines[i]:
            return
        lines[i] = lines[i].replace(value, PLACEHOLDER)
        result.count += 1
        result.digests.add(value_digest(value))
        result.kinds[kind] += 1

    def _redact_plugins(
        self, lines: list[str], candidates: list[tuple[int, str]], path: str, result: Redaction
    ) -> None:
        numbered = [(n + 1, line) for n, (_, line) in enumerate(candidates)]
        with default_settings():
            found = list(_process_line_based_plugins(numbered, filename=path))
        for secret in found:
            if secret.secret_value is None:
                continue
            i = candidates[secret.line_number - 1][0]
            value = _whole_token(lines[i], secret.secret_value)
            # A tiny "secret" (detect-secrets' hex plugin reports 2-char fragments) is noise.
            if len(value) < 6 or _PEM_BEGIN.search(lines[i]) or _PEM_END.search(lines[i]):
                continue
            self._replace(lines, i, value, secret.type, result)

    def _redact_entropy(self, lines: list[str], i: int, result: Redaction) -> None:
        for match in _QUOTED.finditer(lines[i]):
            value = match.group(2)
            if looks_random(value):
                self._replace(lines, i, value, "High entropy string", result)

    def _redact_pem_blocks(self, lines: list[str], result: Redaction) -> None:
        inside = False
        for i, line in enumerate(lines):
            if _PEM_BEGIN.search(line):
                inside = True
                continue
            if inside and _PEM_END.search(line):
                inside = False
                continue
            if inside and line.strip():
                self._replace(lines, i, line.strip(), "Private Key", result)

"""Secret guard: block a suggestion that holds anything secret-like or echoes a value the indexer redacted.

Detection is the indexer's own `Redactor` (its data rules, detect-secrets plugins, PEM blocks, entropy of
quoted strings), plus an entropy check of unquoted tokens. Echoes are found by hashing every candidate
token of the suggestion and looking the digest up among the index's `redacted_digests`, which the index
keys with its own salt exactly as it did when it stored them.

Reasons and evidence name the kind of secret and how many, never a value; the digests in the evidence
are keyed ones (with the index's salt), which no precomputed or shared dictionary can look up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from copilot_index.indexer import Index
from copilot_index.indexer.redact import PLACEHOLDER, Redactor, looks_random, value_digest

from .base import Decision, Suggestion, allow
from .config import SecretGuardConfig

_TOKEN = re.compile(r"[\w+/=\-.~:@!$%^&*]{6,}")
_QUOTED = re.compile(r"""(["'`])([^"'`\n]{4,}?)\1""")
_UNQUOTED = re.compile(r"[A-Za-z0-9+/=_\-]{32,}")


def candidate_values(text: str) -> set[str]:
    """Substrings that might be a redacted value: quoted strings, tokens, assignment values, stripped lines."""
    values: set[str] = set()
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            values.add(stripped)
        values.update(m.group(2) for m in _QUOTED.finditer(line))
        for token in _TOKEN.findall(line):
            values.add(token)
            values.add(token.strip(".:,;"))
        for sep in ("=", ":"):
            if sep in line:
                values.add(line.split(sep, 1)[1].strip().strip("\"'`,;"))
    return {v for v in values if len(v) >= 6}


def close_string(text: str) -> str:
    """`text` with a string its last line leaves open closed, so `password = "a8Fk...` (a suggestion cut
    before its closing quote) reads as the assignment of a value it is."""
    last = text.rsplit("\n", 1)[-1]
    open_quotes = sorted(((last.rfind(q), q) for q in ('"', "'", "`") if last.count(q) % 2), reverse=True)
    return text + "".join(q for _, q in open_quotes)  # the one opened last is closed first


def secret_values(text: str, redactor: Redactor | None = None) -> list[str]:
    """The secret-like values in `text` (longest first), so reasons and logs can leave them out."""
    digests = (redactor or Redactor()).redact(text).digests
    found = {v for v in candidate_values(text) if value_digest(v) in digests or looks_random(v)}
    found.update(token for token in _UNQUOTED.findall(text) if looks_random(token))
    return sorted(found, key=len, reverse=True)


class SecretGuard:
    """Blocks secrets in suggestions."""

    name = "secrets"

    def __init__(
        self,
        config: SecretGuardConfig | None = None,
        redacted_digests: Iterable[str] = (),
        index: Index | None = None,
    ) -> None:
        self.config = config or SecretGuardConfig()
        self.redactor = Redactor()
        self.digests = set(redacted_digests)
        """SHA-256 digests of values to treat as redacted (`redact.value_digest`), besides the index's."""
        self.index = index
        """Looked up on every check, so values redacted by a later index run count at once."""
        self._key = secrets.token_bytes(32)
        """Keys the evidence of matches among `digests` (in memory only, like those digests)."""

    def echoed(self, text: str) -> list[str]:
        """Keyed digests of the values in `text` that the indexer redacted: the index's stored digests, and
        matches among `digests` keyed with this guard's in-memory key. Never a plain hash of a value."""
        digests = {value_digest(v) for v in candidate_values(text)}
        found = {hmac.new(self._key, d.encode("ascii"), hashlib.sha256).hexdigest() for d in digests & self.digests}
        if self.index is not None and self.index.exists:
            found |= self.index.known_digests(digests)
        return sorted(found)

    def check(self, suggestion: Suggestion) -> Decision:
        text = suggestion.text
        if not text.strip():
            return allow(self.name, "empty suggestion")
        echoed = self.echoed(text)
        if echoed:
            return Decision(self.name, "block", "reproduces a value the indexer redacted as a secret",
                            {"kinds": ["Redacted value"], "count": len(echoed), "digests": echoed[:3]})
        if PLACEHOLDER in text:
            return Decision(self.name, "block", "reproduces a redacted secret placeholder", {})
        # The line the suggestion starts on gives detect-secrets the key name (`password = "...`).
        at = suggestion.offset()
        line_start = suggestion.document_text.rfind("\n", 0, at) + 1
        spliced = close_string(suggestion.document_text[line_start:at] + text)
        found = self.redactor.redact(spliced, suggestion.path or "suggestion.txt")
        if found.count:
            kinds = sorted(found.kinds)
            return Decision(self.name, "block", f"looks like a secret ({', '.join(kinds)})",
                            {"kinds": kinds, "count": found.count})
        if self.config.entropy:
            for token in _UNQUOTED.findall(text):
                if looks_random(token):
                    return Decision(self.name, "block", "holds a long random-looking token (possible key)",
                                    {"kinds": ["High entropy token"], "length": len(token)})
        return allow(self.name)

"""Secret guard: block a suggestion that holds anything secret-like or echoes a value the indexer redacted.

Detection is the indexer's own `Redactor` (detect-secrets plugins, PEM blocks, entropy of quoted
strings), plus an entropy check of unquoted tokens. Echoes are found by hashing every candidate
token of the suggestion and looking the digest up among `redacted_digests` from the index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from copilot_index.indexer.redact import PLACEHOLDER, Redactor, looks_random, value_digest
from copilot_index.indexer.store import ChunkStore

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
        store: ChunkStore | None = None,
    ) -> None:
        self.config = config or SecretGuardConfig()
        self.redactor = Redactor()
        self.digests = set(redacted_digests)
        self.store = store
        """Looked up on every check, so values redacted by a later index run count at once."""

    def echoed(self, text: str) -> list[str]:
        """Digests of values in `text` that the indexer redacted."""
        digests = {value_digest(v) for v in candidate_values(text)}
        found = digests & self.digests
        if self.store is not None:
            found |= self.store.known_digests(digests)
        return sorted(found)

    def check(self, suggestion: Suggestion) -> Decision:
        text = suggestion.text
        if not text.strip():
            return allow(self.name, "empty suggestion")
        echoed = self.echoed(text)
        if echoed:
            return Decision(self.name, "block", "reproduces a value the indexer redacted as a secret",
                            {"digests": echoed[:3]})
        if PLACEHOLDER in text:
            return Decision(self.name, "block", "reproduces a redacted secret placeholder", {})
        # The line the suggestion starts on gives detect-secrets the key name (`password = "...`).
        at = suggestion.offset()
        line_start = suggestion.document_text.rfind("\n", 0, at) + 1
        spliced = suggestion.document_text[line_start:at] + text
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

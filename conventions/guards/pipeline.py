"""GuardPipeline: every guard on every suggestion, each decision written to the audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from copilot_index.indexer import Index, LicenseDetector

from .base import Decision, Guard, GuardResult, Suggestion
from .config import GuardConfig
from .license import LicenseGuard
from .secrets import SecretGuard, secret_values
from .security import SecurityGuard

log = logging.getLogger(__name__)

class AuditLog:
    """Appends one JSON line per checked suggestion: its digest, never its text.

    The digest (`suggestion_sha256`) is HMAC-SHA256 keyed with a random key that lives in memory only: equal
    suggestions of one session share it, and no dictionary can recover a short suggestion (a weak password)
    from the log. Reasons and evidence carry kinds, counts and keyed digests, never a value.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)

    def write(self, suggestion: Suggestion, result: GuardResult) -> None:
        record = {
            "time": round(time.time(), 3),
            "path": suggestion.path,
            "line": suggestion.line,
            "character": suggestion.character,
            "language": suggestion.language,
            "suggestion_sha256": hmac.new(self._key, suggestion.text.encode("utf-8", "replace"), hashlib.sha256).hexdigest(),
            "action": result.action,
            "decisions": [d.as_json() for d in result.decisions],
            "latency_ms": round(result.latency_ms, 3),
        }
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line)
        except OSError as exc:
            log.warning("could not write the guard audit log %s: %s", self.path, exc)


class GuardPipeline:
    """Runs the configured guards on a suggestion; a guard that fails is logged and counts as allow.

    Checks are serialized: bandit keeps process-wide state, and the guards share the index's connection."""

    def __init__(self, guards: Sequence[Guard], audit: AuditLog | None = None) -> None:
        self.guards = list(guards)
        self.audit = audit
        self._lock = threading.Lock()

    @classmethod
    def for_index(cls, index: Index, config: GuardConfig | None = None) -> GuardPipeline:
        """The configured guards of `index`'s repository, reading fingerprints and digests from the index (once it
        exists) and auditing into its data directory."""
        config = config or GuardConfig.load(index.root)
        guards: list[Guard] = []
        if config.secrets.enabled:
            guards.append(SecretGuard(config.secrets, index=index))
        if config.security.enabled:
            guards.append(SecurityGuard(config.security))
        if config.license.enabled:
            guards.append(LicenseGuard(config.license, index, LicenseDetector(index.root)))
        return cls(guards, AuditLog(index.data_dir.audit_log) if config.audit else None)

    def check(self, suggestion: Suggestion) -> GuardResult:
        with self._lock:
            return self._check(suggestion)

    def _check(self, suggestion: Suggestion) -> GuardResult:
        started = time.perf_counter()
        decisions: list[Decision] = []
        for guard in self.guards:
            try:
                decisions.append(guard.check(suggestion))
            except Exception:  # one broken guard must not take completion down
                log.exception("guard %s failed on %s", guard.name, suggestion.path)
                decisions.append(Decision(guard.name, "allow", "guard failed; see the log"))
        if any(d.action != "allow" for d in decisions):  # reasons and evidence never quote a secret value
            decisions = _scrub(decisions, secret_values(suggestion.text))
        result = GuardResult(decisions, (time.perf_counter() - started) * 1000)
        if self.audit is not None:
            self.audit.write(suggestion, result)
        return result


def _scrub(decisions: list[Decision], secrets: list[str]) -> list[Decision]:
    """Decisions with every secret value replaced (bandit's messages quote hardcoded passwords)."""
    if not secrets:
        return decisions

    def clean(value: object) -> object:
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, "<secret>")
            return value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return [Decision(d.guard, d.action, str(clean(d.reason)), clean(d.evidence)) for d in decisions]  # type: ignore[arg-type]

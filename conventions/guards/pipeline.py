"""GuardPipeline: every guard on every suggestion, each decision written to the audit log."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from copilot_index.indexer.licenses import LicenseDetector
from copilot_index.indexer.store import ChunkStore

from .base import Decision, Guard, GuardResult, Suggestion
from .config import GuardConfig
from .license import LicenseGuard
from .secrets import SecretGuard, secret_values
from .security import SecurityGuard

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"


class AuditLog:
    """Appends one JSON line per checked suggestion (the suggestion's digest, never its text)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, suggestion: Suggestion, result: GuardResult) -> None:
        record = {
            "time": round(time.time(), 3),
            "path": suggestion.path,
            "line": suggestion.line,
            "character": suggestion.character,
            "language": suggestion.language,
            "suggestion_sha256": hashlib.sha256(suggestion.text.encode("utf-8", "replace")).hexdigest(),
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
    """Runs the configured guards on a suggestion; a guard that fails is logged and counts as allow."""

    def __init__(self, guards: Sequence[Guard], audit: AuditLog | None = None) -> None:
        self.guards = list(guards)
        self.audit = audit

    @classmethod
    def for_repository(
        cls, root: Path, data_dir: Path, store: ChunkStore | None = None, config: GuardConfig | None = None
    ) -> GuardPipeline:
        """The guards configured in `<root>/.copilot-index.toml`, reading fingerprints and digests from `store`."""
        config = config or GuardConfig.load(root)
        guards: list[Guard] = []
        if config.secrets.enabled:
            guards.append(SecretGuard(config.secrets, store=store))
        if config.security.enabled:
            guards.append(SecurityGuard(config.security))
        if config.license.enabled:
            guards.append(LicenseGuard(config.license, store, LicenseDetector(root)))
        return cls(guards, AuditLog(data_dir / AUDIT_FILE) if config.audit else None)

    def check(self, suggestion: Suggestion) -> GuardResult:
        started = time.perf_counter()
        decisions: list[Decision] = []
        for guard in self.guards:
            try:
                decisions.append(guard.check(suggestion))
            except Exception:  # one broken guard must not take completion down
                log.exception("guard %s failed on %s", guard.name, suggestion.path)
                decisions.append(Decision(guard.name, "allow", "guard failed; see the log"))
        if any(d.guard == SecretGuard.name and d.action != "allow" for d in decisions):
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

"""Typed guard settings, read from the `[guards]` table of `.copilot-index.toml`.

    [guards]
    audit = true

    [guards.license]
    min_match_chars = 150      # normalized characters of a copy that count as reproducing a chunk
    copyleft_action = "block"  # copyleft code flowing into a file under another licence
    foreign_action = "annotate"

    [guards.security]
    block_severity = "high"
    annotate_severity = "medium"

    [guards.secrets]
    enabled = true

Bad values fall back to their defaults; each problem is logged once and kept in `warnings`. The one reader of
configuration is `copilot_index.indexer.config`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import ClassVar

from copilot_index.indexer import SectionConfig

from .base import ACTIONS, SEVERITIES

log = logging.getLogger(__name__)


@dataclass
class LicenseGuardConfig:
    enabled: bool = True
    min_match_chars: int = 150
    """A copy of at least this many normalized characters of one chunk counts as reproducing it."""
    context_chars: int = 150
    """Characters of the document before the cursor checked together with the suggestion."""
    copyleft_action: str = "block"
    """What happens when copyleft code flows into a file under another licence."""
    foreign_action: str = "annotate"
    """What happens when code under another (non-copyleft) licence is reproduced."""
    project_license: str = ""
    """SPDX id of the project; empty: read the repository's LICENSE/COPYING file."""
    block_foreign_headers: bool = True
    """Block a suggestion that writes a licence header other than the project's."""


@dataclass
class SecurityGuardConfig:
    enabled: bool = True
    block_severity: str = "high"
    """Findings of at least this severity block the suggestion."""
    annotate_severity: str = "medium"
    """Findings of at least this severity (and below `block_severity`) annotate it."""
    min_confidence: str = "medium"
    """bandit findings of lower confidence are ignored."""


@dataclass
class SecretGuardConfig:
    enabled: bool = True
    entropy: bool = True
    """Also block long random-looking tokens that no detect-secrets plugin names."""


@dataclass
class GuardConfig(SectionConfig):
    """Settings of all guards (`[guards]`). A repository's own file may set them only once the user trusts it:
    a clone must not be able to switch the guards off."""

    SECTION: ClassVar[str] = "guards"
    SENSITIVE: ClassVar[frozenset[str]] = frozenset({"*"})

    audit: bool = True
    """Write every decision to the data directory's audit log."""
    license: LicenseGuardConfig = field(default_factory=LicenseGuardConfig)
    security: SecurityGuardConfig = field(default_factory=SecurityGuardConfig)
    secrets: SecretGuardConfig = field(default_factory=SecretGuardConfig)

    def validate(self, source: str) -> None:
        for name, section in (("license", self.license), ("security", self.security)):
            for key in ("copyleft_action", "foreign_action", "block_severity", "annotate_severity", "min_confidence"):
                value = getattr(section, key, None)
                allowed = ACTIONS if key.endswith("action") else SEVERITIES
                if value is not None and value not in allowed:
                    default = getattr(type(section)(), key)
                    self._warn(f"{source}: guards.{name}.{key} must be one of {', '.join(allowed)}; using {default!r}.")
                    setattr(section, key, default)

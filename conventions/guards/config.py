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

Bad values fall back to their defaults; each problem is logged once and kept in `warnings`.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot_index.indexer.config import CONFIG_FILE, coerce_value

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
class GuardConfig:
    """Settings of all guards."""

    audit: bool = True
    """Write every decision to `<data-dir>/audit.jsonl`."""
    license: LicenseGuardConfig = field(default_factory=LicenseGuardConfig)
    security: SecurityGuardConfig = field(default_factory=SecurityGuardConfig)
    secrets: SecretGuardConfig = field(default_factory=SecretGuardConfig)
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = CONFIG_FILE) -> GuardConfig:
        config = cls()
        structure(config, data, "guards", source, config.warnings)
        for name, section in (("license", config.license), ("security", config.security)):
            for key in ("copyleft_action", "foreign_action", "block_severity", "annotate_severity", "min_confidence"):
                value = getattr(section, key, None)
                allowed = ACTIONS if key.endswith("action") else SEVERITIES
                if value is not None and value not in allowed:
                    default = getattr(type(section)(), key)
                    _warn(config.warnings, f"{source}: guards.{name}.{key} must be one of {', '.join(allowed)}; "
                          f"using {default!r}.")
                    setattr(section, key, default)
        return config

    @classmethod
    def load(cls, root: Path) -> GuardConfig:
        """Read `[guards]` from `<root>/.copilot-index.toml`; a missing file or table gives the defaults."""
        data, warnings = read_table(root, "guards")
        config = cls.from_mapping(data)
        config.warnings[:0] = warnings
        return config


def read_table(root: Path, name: str) -> tuple[dict[str, Any], list[str]]:
    """The `[name]` table of the repository's config file, and any problem reading it."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except tomllib.TOMLDecodeError as exc:
        message = f"{CONFIG_FILE} is not valid TOML ({exc}); using the default [{name}] settings."
        log.warning(message)
        return {}, [message]
    table = data.get(name, {})
    if not isinstance(table, dict):
        message = f"{CONFIG_FILE}: [{name}] must be a table; using the default settings."
        log.warning(message)
        return {}, [message]
    return table, []


def structure(target: Any, data: dict[str, Any], prefix: str, source: str, warnings: list[str]) -> None:
    """Copy `data` onto the dataclass `target`, keeping defaults for unknown or ill-typed values."""
    fields = {f.name for f in dataclasses.fields(target) if f.name != "warnings"}
    for key, value in data.items():
        name = key.replace("-", "_")
        where = f"{prefix}.{key}"
        if name not in fields:
            _warn(warnings, f"{source}: unknown setting {where} is ignored.")
            continue
        default = getattr(target, name)
        if dataclasses.is_dataclass(default):
            if isinstance(value, dict):
                structure(default, value, where, source, warnings)
            else:
                _warn(warnings, f"{source}: {where} must be a table; using the defaults.")
            continue
        coerced = coerce_value(value, default)
        if coerced is None:
            _warn(warnings, f"{source}: {where} = {value!r} is not a valid {type(default).__name__}; "
                  f"using the default {default!r}.")
            continue
        setattr(target, name, coerced)


def _warn(warnings: list[str], message: str) -> None:
    log.warning(message)
    warnings.append(message)

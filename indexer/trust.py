"""Which repositories the user trusts to choose where code goes and what code runs.

A repository's own `.copilot-index.toml` is untrusted input: until the user trusts the repository
(`copilot-index trust PATH`), the settings that would send its text off the machine or load code from a path it
names are ignored (see `config.ConfigLayers`). Trust is kept in the user's config folder, keyed by the
repository's real path, so a symlink or a `..` in the path cannot smuggle another folder in.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .datadir import user_config

log = logging.getLogger(__name__)

TRUST_FILE = "trusted.json"


def _path() -> Path:
    return user_config() / TRUST_FILE


def trusted_roots() -> list[str]:
    """Real paths of the trusted repositories (an unreadable record trusts nothing)."""
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable trust record %s (%s)", _path(), exc)
        return []
    roots = data.get("repositories") if isinstance(data, dict) else None
    return [r for r in roots if isinstance(r, str)] if isinstance(roots, list) else []


def is_trusted(root: Path) -> bool:
    return str(root.resolve()) in trusted_roots()


def set_trusted(root: Path, trusted: bool = True) -> bool:
    """Trust `root` (or revoke trust); returns whether anything changed. The record is replaced atomically."""
    key = str(root.resolve())
    roots = trusted_roots()
    if (key in roots) == trusted:
        return False
    roots = sorted({*roots, key}) if trusted else [r for r in roots if r != key]
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"repositories": roots}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return True

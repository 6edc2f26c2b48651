"""Declared conventions, read from the `[conventions]` table of `.copilot-index.toml`.

    [conventions]
    required_license_header = "MIT"      # every new source file starts with this licence (SPDX id)
    banned_imports = ["pickle", "telnetlib"]
    banned_apis = ["os.system", "eval"]
    learned = true                        # also mine conventions from the repository itself

    [conventions.naming.python]           # per language, per symbol kind: a regular expression
    function = "^_*[a-z][a-z0-9_]*$"
    class = "^_*[A-Z][A-Za-z0-9]*$"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from copilot_index.indexer import SectionConfig


@dataclass
class ConventionsConfig(SectionConfig):
    """What `copilot-index check` enforces besides the guards (`[conventions]`)."""

    SECTION: ClassVar[str] = "conventions"

    required_license_header: str = ""
    """SPDX id every new source file must declare in its header; empty: none required."""
    banned_imports: list[str] = field(default_factory=list)
    """Modules or packages that must not be imported (a prefix match on dotted or slashed names)."""
    banned_apis: list[str] = field(default_factory=list)
    """Calls or names that must not appear in new code, e.g. `os.system`."""
    naming: dict[str, dict[str, str]] = field(default_factory=dict)
    """language -> symbol kind (function, method, class, ...) -> regular expression a name must match."""
    learned: bool = True
    """Report deviations from conventions mined from the repository (naming styles, licence header)."""
    learned_min_share: float = 0.9
    """A style followed by at least this share of the symbols (or files) counts as a convention."""
    learned_min_samples: int = 20
    """Fewest symbols (or files) a learned convention needs."""

    def validate(self, source: str) -> None:
        self.naming = self._valid_naming(self.naming, source)
        if not 0.5 <= self.learned_min_share <= 1.0:
            self.reset("learned_min_share", source, "must be between 0.5 and 1")

    def _valid_naming(self, naming: Mapping[str, object], source: str) -> dict[str, dict[str, str]]:
        valid: dict[str, dict[str, str]] = {}
        for language, kinds in naming.items():
            if not isinstance(kinds, dict):
                self._warn(f"{source}: conventions.naming.{language} must be a table; ignored.")
                continue
            for kind, pattern in kinds.items():
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    self._warn(f"{source}: conventions.naming.{language}.{kind} is not a valid "
                               f"regular expression ({exc}); ignored.")
                    continue
                valid.setdefault(language, {})[kind] = str(pattern)
        return valid

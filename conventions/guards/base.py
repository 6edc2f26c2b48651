"""The guard interface: a suggestion in its context goes in, an allow / annotate / block decision comes out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Action = Literal["allow", "annotate", "block"]
ACTIONS: tuple[Action, ...] = ("allow", "annotate", "block")


@dataclass
class Suggestion:
    """A completion as the engine would show it, with what the guards need to judge it."""

    text: str
    """The text inserted at the cursor."""
    document_text: str = ""
    """The document's full text before insertion."""
    line: int = 0
    """0-based cursor line (LSP style)."""
    character: int = 0
    """0-based cursor column (LSP style; counted in Python characters)."""
    language: str = "text"
    """Language name as `copilot_index.indexer.languages` gives it."""
    path: str = ""
    """Repository-relative POSIX path of the document."""
    file_license: str | None = None
    """SPDX id of the document's licence; None lets the licence guard detect it."""
    sources: list[tuple[str, int, int]] = field(default_factory=list)
    """Retrieved chunks the suggestion was grounded in: (path, start_line, end_line)."""

    def offset(self) -> int:
        """Character offset of the cursor in `document_text` (clamped to the document)."""
        lines = self.document_text.split("\n")
        row = min(max(self.line, 0), len(lines) - 1)
        col = min(max(self.character, 0), len(lines[row]))
        return sum(len(x) + 1 for x in lines[:row]) + col

    def spliced(self) -> tuple[str, int, int]:
        """The document with the suggestion inserted, and the suggestion's (start, end) offsets in it."""
        at = self.offset()
        return self.document_text[:at] + self.text + self.document_text[at:], at, at + len(self.text)

    def suggestion_lines(self) -> tuple[int, int]:
        """1-based first and last line the suggestion occupies in the spliced document."""
        first = self.document_text[: self.offset()].count("\n") + 1
        return first, first + self.text.count("\n")


@dataclass
class Decision:
    """One guard's verdict on one suggestion."""

    guard: str
    action: Action
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def allow(guard: str, reason: str = "no finding") -> Decision:
    return Decision(guard, "allow", reason)


@dataclass
class GuardResult:
    """All guards' decisions on one suggestion."""

    decisions: list[Decision]
    latency_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        return any(d.action == "block" for d in self.decisions)

    @property
    def annotations(self) -> list[Decision]:
        return [d for d in self.decisions if d.action == "annotate"]

    @property
    def action(self) -> Action:
        """The strictest action among the decisions."""
        return max((d.action for d in self.decisions), key=ACTIONS.index, default="allow")


class Guard(Protocol):
    """Anything with a name and a `check(suggestion) -> Decision`."""

    name: str

    def check(self, suggestion: Suggestion) -> Decision: ...


SEVERITIES = ("low", "medium", "high")


def severity_rank(severity: str) -> int:
    """0 for low, 1 for medium, 2 for high (unknown counts as low)."""
    value = severity.lower()
    return SEVERITIES.index(value) if value in SEVERITIES else 0

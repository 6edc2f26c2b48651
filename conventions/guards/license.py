"""Licence guard: no copyleft code copied into a differently licensed file, attribution for other foreign code.

The suggestion plus the `context_chars` before and after the cursor is normalized and its k-gram
hashes are looked up among the winnowing fingerprints of indexed chunks. Each candidate chunk is
re-scanned for the longest shared normalized span; a span of `min_match_chars` or more that
overlaps the suggestion counts as reproducing that chunk.
"""

from __future__ import annotations

from copilot_index.indexer import (
    FingerprintHit,
    Index,
    LicenseDetector,
    comment_text,
    detect_text,
    header_license,
    is_copyleft,
    same_license,
)
from copilot_index.indexer import fingerprints as fp

from .base import Decision, Suggestion, allow
from .config import LicenseGuardConfig

MAX_CANDIDATES = 5
"""Chunks (most shared fingerprints first) re-scanned for an exact overlap."""
NEIGHBOUR_LINES = 40
"""Lines around a candidate chunk compared too, so a copy running across chunk boundaries is measured whole."""


class LicenseGuard:
    """Checks what a suggestion copies from the index, and any licence header it writes."""

    name = "license"

    def __init__(
        self,
        config: LicenseGuardConfig | None = None,
        index: Index | None = None,
        detector: LicenseDetector | None = None,
    ) -> None:
        self.config = config or LicenseGuardConfig()
        self.index = index
        """Where licence fingerprints come from (none until the repository is indexed)."""
        self.detector = detector
        self.project_license = self.config.project_license or (detector.project_license() if detector else None)

    def target_license(self, s: Suggestion) -> str | None:
        """The licence of the file being edited: given, its header, its nearest licence file, the project's."""
        if s.file_license:
            return s.file_license
        found = header_license(s.document_text)
        if found is None and self.detector is not None and s.path:
            found = self.detector.folder_license(s.path)
        return found or self.project_license

    def check(self, s: Suggestion) -> Decision:
        target = self.target_license(s)
        written = detect_text(comment_text(s.text))
        expected = self.project_license or target
        if written and expected and self.config.block_foreign_headers and not same_license(written, expected):
            return Decision(self.name, "block", f"writes a {written} licence header into a {expected} project",
                            {"header_license": written, "project_license": expected})
        if self.index is None or not self.index.exists:
            return allow(self.name, "no index to compare with")
        match = self.find_copy(s)
        if match is None:
            return allow(self.name)
        hit, length, start_line, end_line = match
        evidence = {"path": hit.path, "start_line": start_line, "end_line": end_line, "license": hit.license,
                    "matched_chars": length, "file_license": target}
        if hit.license is None or same_license(hit.license, target):
            return allow(self.name, f"reproduces {hit.path}:{start_line}-{end_line} under the same licence")
        where = f"{hit.path}:{start_line}-{end_line} ({hit.license}, {length} characters)"
        if is_copyleft(hit.license):
            action = self.config.copyleft_action
            reason = f"reproduces copyleft code from {where} into a {target or 'differently licensed'} file"
        else:
            action = self.config.foreign_action
            reason = f"reproduces code from {where}; attribution required"
        return Decision(self.name, action, reason, evidence)  # type: ignore[arg-type]

    def find_copy(self, s: Suggestion) -> tuple[FingerprintHit, int, int, int] | None:
        """The indexed chunk the suggestion reproduces most of (at least `min_match_chars`), with the lines copied."""
        assert self.index is not None
        at = s.offset()
        before = s.document_text[max(0, at - self.config.context_chars) : at]
        after = s.document_text[at : at + self.config.context_chars]
        query = fp.normalize(before + s.text + after)
        own_start = len(fp.normalize(before).text)
        own_end = own_start + len(fp.normalize(s.text).text)
        if own_end == own_start or len(query.text) < self.config.min_match_chars:
            return None
        best: tuple[FingerprintHit, int, int, int] | None = None
        seen: set[tuple[str, int]] = set()
        hits = self.index.fingerprint_matches(fp.kgram_hashes(query.text), limit=MAX_CANDIDATES)
        per_file: dict[str, int] = {}
        for hit in hits:
            per_file[hit.path] = per_file.get(hit.path, 0) + hit.hits
        # A copy of n normalized characters spans n - K + 1 k-grams, and winnowing keeps one of every
        # WINDOW consecutive ones, so one chunk shares at least (n - K + 1) // WINDOW fingerprints with it;
        # a third of that still holds when the copy runs across chunk boundaries. Fewer: no copy.
        needed = max(1, (self.config.min_match_chars - fp.K + 1) // fp.WINDOW // 3)
        for hit in hits:
            if hit.path == s.path or (hit.path, hit.start_line) in seen or per_file[hit.path] < needed:
                continue
            # A copy may run across chunk boundaries: compare with the file's lines around the chunk.
            first_line, text = self._neighbourhood(hit)
            seen.update((hit.path, line) for line in range(first_line, first_line + text.count("\n") + 1))
            candidate = fp.normalize(text)
            span = fp.longest_shared_span(query.text, candidate.text)
            overlaps = span.query_start < own_end and span.query_start + span.length > own_start
            if span.length < self.config.min_match_chars or not overlaps:
                continue
            if best is None or span.length > best[1]:
                first = candidate.offsets[span.candidate_start]
                last = candidate.offsets[span.candidate_start + span.length - 1]
                best = (hit, span.length, first_line + text.count("\n", 0, first), first_line + text.count("\n", 0, last))
        return best

    def _neighbourhood(self, hit: FingerprintHit) -> tuple[int, str]:
        """The file's text from its chunks within `NEIGHBOUR_LINES` of the hit: (first line, text)."""
        assert self.index is not None
        lines: dict[int, str] = {}
        first, last = hit.start_line - NEIGHBOUR_LINES, hit.end_line + NEIGHBOUR_LINES
        for start, _, text in self.index.chunks_near(hit.path, first, last):
            for number, line in enumerate(text.split("\n"), start):
                if first <= number <= last:
                    lines.setdefault(number, line)
        if not lines:
            return hit.start_line, hit.text
        low = min(lines)
        return low, "\n".join(lines.get(n, "") for n in range(low, max(lines) + 1))

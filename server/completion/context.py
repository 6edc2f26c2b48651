"""Context retrieval for a cursor: a query from the code around it, hybrid search, budgeted snippets."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from copilot_index.indexer import Index
from copilot_index.server.model.backend import Snippet

from .overlay import UnsavedBuffers
from .prompt import fit_snippet

log = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_KEYWORDS = frozenset(
    "def class return self import from with for while if elif else try except finally pass none true false "
    "and not lambda yield async await func var let const function public private static void int string "
    "struct impl pub use package".split()
)


def build_query(prefix: str, suffix: str, lines_before: int = 12) -> str:
    """The code just before the cursor plus identifiers used near it (most recent first)."""
    before = [line for line in prefix.split("\n")[-lines_before:] if line.strip()]
    after = suffix.split("\n")[:5]
    seen: list[str] = []
    for ident in reversed(_IDENT.findall("\n".join(prefix.split("\n")[-40:]) + "\n" + "\n".join(after))):
        if ident.lower() not in _KEYWORDS and ident not in seen:
            seen.append(ident)
    return "\n".join(before) + ("\n" + " ".join(seen[:24]) if seen else "")


class ContextRetriever:
    """Finds code elsewhere in the repository that helps complete the cursor's position."""

    def __init__(self, index: Index, *, candidates: int = 8, buffers: UnsavedBuffers | None = None) -> None:
        self.index = index
        self.candidates = candidates
        self.buffers = buffers or UnsavedBuffers()

    def retrieve(
        self,
        path: str,
        prefix: str,
        suffix: str,
        token_budget: int,
        count_tokens: Callable[[str], int],
        unsaved: Sequence[tuple[str, str]] = (),
    ) -> list[Snippet]:
        """Snippets from other files, best first, deduplicated, cut to `token_budget` tokens in all.

        `unsaved` holds (path, text) of open documents with unsaved changes: their text replaces the
        index's stale copy of those files.
        """
        if token_budget <= 0:
            return []
        query = build_query(prefix, suffix)
        if not query.strip():
            return []
        stale = {p for p, _ in unsaved}
        found = [Snippet(r.path, r.start_line, r.end_line, r.text, r.score)
                 for r in self.index.search(query, k=self.candidates + 4, exclude_path=path) if r.path not in stale]
        others = [(p, text) for p, text in unsaved if p != path]
        if others:
            scored = self.buffers.score(others, query, self.index.query_embedding(query), self.index.embed,
                                        self.index.dense_weight, self.candidates)
            found += [Snippet(c.path, c.start_line, c.end_line, c.text, score) for c, score in scored]
            found.sort(key=lambda s: -s.score)
        chosen: list[Snippet] = []
        seen_text: set[str] = set()
        used = 0
        for snippet in found:
            if snippet.text.strip() in seen_text:  # the search and the buffers leave `path` out already
                continue
            fitted = fit_snippet(snippet, token_budget - used, count_tokens, 8)
            if fitted is None:
                continue  # a smaller one further down may still fit
            seen_text.add(snippet.text.strip())
            chosen.append(fitted)
            used += count_tokens(fitted.text) + 8
            if len(chosen) >= self.candidates:
                break
        return chosen

"""An LRU of recent suggestions, so typing the characters of a shown suggestion reuses it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

PER_PLACE = 4
"""Suggestions kept for one place (same file, same text after the cursor), newest first."""


@dataclass(frozen=True)
class _Entry:
    prefix: str
    suffix: str
    completion: str
    grounds: Any


class SuggestionCache:
    """Remembers (prefix, suffix) -> suggestion; answers a later prefix that typed into it."""

    def __init__(self, size: int = 64, window: int = 2000) -> None:
        self.size = size
        self.window = window
        """Characters of prefix/suffix kept as the key (the part near the cursor)."""
        self._entries: OrderedDict[tuple[str, str], list[_Entry]] = OrderedDict()

    def _key(self, path: str, prefix: str, suffix: str) -> tuple[str, str]:
        return path, suffix[: self.window]

    def put(self, path: str, prefix: str, suffix: str, completion: str, grounds: Any = None) -> None:
        """Remember a suggestion and what grounded it (`grounds`, given back with it); a few are kept per place
        (the one shown, and the one prefetched as if accepted)."""
        if not completion:
            return
        key = self._key(path, prefix, suffix)
        entry = _Entry(prefix[-self.window :], suffix[: self.window], completion, grounds)
        kept = [e for e in self._entries.get(key, []) if e.prefix != entry.prefix]
        self._entries[key] = [entry, *kept][:PER_PLACE]
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def get(self, path: str, prefix: str, suffix: str) -> str | None:
        """The rest of a cached suggestion whose start the user has typed since, or None."""
        found = self.lookup(path, prefix, suffix)
        return None if found is None else found[0]

    def lookup(self, path: str, prefix: str, suffix: str) -> tuple[str, Any] | None:
        """(the rest of a cached suggestion whose start the user has typed since, its grounds), or None."""
        key = self._key(path, prefix, suffix)
        tail = prefix[-self.window :]
        for entry in self._entries.get(key, []):
            # The cached prefix must end where the typed characters begin.
            for typed_len in range(0, len(entry.completion)):
                typed = entry.completion[:typed_len]
                if tail.endswith(entry.prefix[len(typed) :] + typed) if typed else tail == entry.prefix:
                    rest = entry.completion[typed_len:]
                    if rest:
                        self._entries.move_to_end(key)
                        return rest, entry.grounds
        return None

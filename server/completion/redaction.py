"""The open document as the model may see it: its secret values replaced before any prompt is built.

Retrieved snippets come redacted from the index and from the unsaved-buffer overlay; the open document
arrives from the editor as it is. A model that sees a value can copy it, whole, truncated or run on into
other characters, and no check of the suggestion recognises every such copy; a model that never saw the
value cannot write it. So the text before and after the cursor is redacted for every backend, local ones
included.

Redacting a whole file costs 10-20 ms, too much for every keystroke, so the work is split the way typing
changes the text: the document without the cursor's line is redacted once per place (cached), and the
cursor's line on each request together with the lines where secrets were found (so a value defined
elsewhere is removed from the cursor's line too).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from copilot_index.indexer import Redactor
from copilot_index.indexer.redact import PLACEHOLDER

log = logging.getLogger(__name__)

_PEM_MARKER = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]*PRIVATE KEY")

PLACES = 8
"""Documents-without-the-cursor's-line whose redaction is remembered."""


@dataclass(frozen=True)
class _Rest:
    """The document without the cursor's line, redacted."""

    head: str
    tail: str
    secret_lines: list[str] = field(default_factory=list)
    """The original lines where secrets were found (redacted again with the cursor's line)."""
    in_private_key: bool = False
    """The cursor's line is inside a PEM private-key block."""


class DocumentRedactor:
    """Redacts the prefix and suffix of a completion request; thread-safe."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()
        self._lock = threading.Lock()
        self._places: OrderedDict[tuple[str, str, str], _Rest] = OrderedDict()

    def clean(self, path: str, prefix: str, suffix: str) -> tuple[str, str]:
        """(prefix, suffix) with every secret value replaced by the redaction placeholder."""
        line_start = prefix.rfind("\n") + 1
        line_end = suffix.find("\n")
        if line_end < 0:
            line_end = len(suffix)
        head, before = prefix[:line_start], prefix[line_start:]
        after, tail = suffix[:line_end], suffix[line_end:]
        rest = self._rest(path, head, tail)
        if rest.in_private_key and (before + after).strip():  # a line of a PEM block: all of it goes
            return rest.head + PLACEHOLDER, rest.tail
        clean_before, clean_after = self._cursor_line(path, before, after, rest.secret_lines)
        return rest.head + clean_before, clean_after + rest.tail

    def _rest(self, path: str, head: str, tail: str) -> _Rest:
        """The document without the cursor's line (an empty line in its place), redacted; cached per place."""
        key = (path, head, tail)
        with self._lock:
            if key in self._places:
                self._places.move_to_end(key)
                return self._places[key]
        text = head + tail  # head ends with "\n" and tail starts with one: the cursor's line is left empty
        redaction = self.redactor.redact(text, path)
        markers = _PEM_MARKER.findall(head)
        in_private_key = bool(markers) and markers[-1] == "BEGIN"
        if not redaction.count:
            cleaned = _Rest(head, tail, in_private_key=in_private_key)
        else:
            lines, kept = redaction.text.split("\n"), head.count("\n")
            original = text.split("\n")
            if len(lines) != len(original):  # the redactor keeps the line count; should it not, nothing is guessed
                log.warning("redaction changed the number of lines of %s; completing from the cursor's line alone", path)
                return _Rest("", "", in_private_key=in_private_key)
            clean_head = "".join(line + "\n" for line in lines[:kept])
            clean_tail = "".join("\n" + line for line in lines[kept + 1:])
            cleaned = _Rest(clean_head, clean_tail, [original[n - 1] for n in sorted(redaction.line_kinds)],
                            in_private_key)
        with self._lock:
            self._places[key] = cleaned
            while len(self._places) > PLACES:
                self._places.popitem(last=False)
        return cleaned

    def _cursor_line(self, path: str, before: str, after: str, secret_lines: list[str]) -> tuple[str, str]:
        """The cursor's line redacted, split again at the cursor (at the start of a redacted value the cursor
        was inside of)."""
        line = before + after
        if not line.strip():
            return before, after
        redacted = self.redactor.redact("\n".join([*secret_lines, line]), path).text
        cleaned = redacted.rsplit("\n", 1)[-1] if secret_lines else redacted
        if cleaned == line:
            return before, after
        same_start = len(os.path.commonprefix([line, cleaned]))
        same_end = len(os.path.commonprefix([line[same_start:][::-1], cleaned[same_start:][::-1]]))
        if len(before) <= same_start:  # the cursor is before every change
            return before, cleaned[len(before):]
        if len(after) <= same_end:  # ... after every change
            return cleaned[:len(cleaned) - len(after)], after
        return cleaned[:same_start], cleaned[same_start:]

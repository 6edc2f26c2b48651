"""Tidy a suggestion before it is shown: cut what a small model writes once it has lost its way.

Three kinds of text are never worth showing, and each is easy to recognise after the fact:

- **a copy of the code right below the cursor.** The model has read the following lines (they are in its
  prompt) and writes the next one again: a single line equal to the next non-blank line is dropped, and a
  multi-line suggestion is cut where it starts repeating the lines below.
- **a loop.** When the token budget runs out, the model has often been repeating itself: a line that holds
  the same few characters over and over (`*args_map_map_map`, `//  //  //`), or lines that repeat a block of
  one to three lines twice more, each a near copy. The suggestion is cut where the loop starts: the first time
  is kept (of a line that loops, the suggestion's first line keeps its start; a later one is dropped).
- **an unfinished last line** of a multi-line suggestion that ran out of tokens.

Every rule is conservative: the rules about loops and unfinished lines apply only when generation ran out of
tokens (a model that stopped by itself was not looping; one that ran out may still have had its block cut at a
dedent, after a loop), and a line that is too short to mean anything (`}`, `return`, `else:`) is never counted as
a copy. `shape` is what the engine shows of a generation, and says which rule cut (its stop reason), for the
user, the debug log and the benchmark (`tests/benchmarks/bench_tidy.py`).
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass

from .request import cut_block

MIN_COPY_CHARS = 8
"""A line needs this many letters or digits to count as a copy of the line below (`}` or `else:` repeat
legitimately)."""
NEAR_COPY = 0.8
"""Edit similarity (stripped) from which a line is a near copy of another."""
MAX_PERIOD = 3
"""The longest block of lines (1-3) whose repetition is recognised as a loop."""
LOOP_REPEATS = 2
"""Near copies of a block, after the block itself, that make a loop (the block is kept, its copies cut)."""
_REPEATED_PIECE = re.compile(r"(.{2,16}?)\1{2,}")
"""The same piece of 2-16 characters three or more times in a row."""
_WORD = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class Tidied:
    text: str
    cut: str | None = None
    """Which rule cut the suggestion ("copy", "loop", "unfinished"), or None when it was kept whole."""


def shape(text: str, stop_reason: str, prefix: str, suffix: str, *, block: bool, tidy_on: bool = True
          ) -> tuple[str, str]:
    """What is shown of what the model wrote, and why it ends: a block is cut where the block ends
    (`cut_block`; "block_end"), then the text is tidied (`tidy`; "tidy_copy", "tidy_loop", "tidy_unfinished")."""
    ran_out = stop_reason == "max_tokens"
    if block:
        kept = cut_block(text, prefix)
        if kept.rstrip() != text.rstrip():
            stop_reason = "block_end"
        text = kept
    if tidy_on and stop_reason != "cancelled":
        tidied = tidy(text, prefix, suffix, block=block, ran_out=ran_out, whole=stop_reason == "block_end")
        if tidied.cut is not None:
            return tidied.text, f"tidy_{tidied.cut}"
    return text, stop_reason


def tidy(text: str, prefix: str, suffix: str, *, block: bool, ran_out: bool, whole: bool = False) -> Tidied:
    """`text` (the model's suggestion at the end of `prefix`, before `suffix`) with copies of the code below the
    cursor, loops and an unfinished last line cut off. `ran_out`: the token budget ended generation; `whole`:
    the text was cut after a whole line since (at the end of its block), so its last line is finished."""
    if not text.strip():
        return Tidied(text)
    lines = text.split("\n")
    below = _lines_below(suffix, len(lines))
    # the first line completes the cursor's line (and, alone, meets the rest of it); the others stand alone
    first = prefix.rsplit("\n", 1)[-1] + lines[0] + (suffix.split("\n", 1)[0] if len(lines) == 1 else "")
    for i, line in enumerate(lines):
        if _runs_into(first if i == 0 else line, lines[i + 1 :], below):
            return _cut(lines, i, "copy")
    if not ran_out:
        return Tidied(text)
    finished = lines[:-1] if block and len(lines) > 1 and not whole else lines  # the last line stopped mid-way
    for i, line in enumerate(finished):
        piece = next((m for m in _REPEATED_PIECE.finditer(line) if len(set(m.group(1))) > 1), None)
        if piece is not None:  # the cursor's line keeps its start, up to the piece's first time; a later line goes
            start = line[: piece.start() + len(piece.group(1))].rstrip()
            return _cut(lines[:i] + ([start] if i == 0 and start.strip() else []), i + 1, "loop")
    written = [i for i, line in enumerate(finished) if line.strip()]  # blank lines do not break a loop
    loop = _loop_start([finished[i] for i in written])
    if loop is not None:
        return _cut(lines, written[loop], "loop")
    if len(finished) < len(lines):
        return _cut(lines, len(finished), "unfinished")
    return Tidied(text)


def _lines_below(suffix: str, most: int) -> list[str]:
    """The first `most` non-blank lines after the cursor's line, stripped: read lazily, since the suffix is the
    rest of the document, however long, at every completion."""
    found: list[str] = []
    lines = io.StringIO(suffix)
    next(lines, None)  # the rest of the cursor's line
    for line in lines:
        if line.strip():
            found.append(line.strip())
            if len(found) == most:
                break
    return found


def _meaningful(line: str) -> bool:
    return len(_WORD.findall(line)) >= MIN_COPY_CHARS


def _runs_into(line: str, rest: list[str], below: list[str]) -> bool:
    """Whether `line`, and what follows it in the suggestion, repeats the first non-blank lines below the cursor."""
    if not below or line.strip() != below[0] or not _meaningful(line):
        return False
    written = [x.strip() for x in rest if x.strip()]
    return all(a == b for a, b in zip(written, below[1:], strict=False))


def _loop_start(lines: list[str]) -> int | None:
    """Where the first loop in `lines` starts repeating: a block of one to MAX_PERIOD lines followed by at least
    LOOP_REPEATS near copies of it (each line a near copy of the line one block earlier). None without one."""
    starts = []
    for period in range(1, MAX_PERIOD + 1):
        run = 0
        for j in range(period, len(lines)):
            run = run + 1 if _near_copy(lines[j - period], lines[j]) else 0
            if run >= LOOP_REPEATS * period:
                starts.append(j - run + 1)
                break
    return min(starts, default=None)


def _near_copy(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    return bool(a) and bool(b) and difflib.SequenceMatcher(None, a, b).ratio() >= NEAR_COPY


def _cut(lines: list[str], at: int, rule: str) -> Tidied:
    kept = lines[:at]
    while kept and not kept[-1].strip():
        kept.pop()
    return Tidied("\n".join(kept), rule)

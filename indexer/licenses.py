"""Which licence a file is under, as an SPDX identifier (or expression).

In order: an `SPDX-License-Identifier:` line near the top of the file, a known licence header
text in its first lines, then the nearest LICENSE / COPYING file in its folder or above (up to the
repository root). Licence families are compared by their SPDX base id, so `GPL-3.0-only` and
`GPL-3.0-or-later` are one family, and an expression like `MIT OR GPL-2.0-only` is copyleft only
when every alternative is.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

HEADER_LINES = 40
"""Lines at the top of a file searched for an SPDX line or a licence header."""
LICENSE_FILE_NAMES = (
    "LICENSE", "LICENSE.txt", "LICENSE.md", "LICENSE.rst", "LICENCE", "LICENCE.txt", "LICENCE.md",
    "COPYING", "COPYING.txt", "COPYING.md", "LICENSE-MIT", "LICENSE-APACHE",
)
COPYLEFT_PREFIXES = ("GPL", "AGPL", "LGPL", "MPL", "EPL", "EUPL", "CDDL", "OSL", "CPL", "CECILL", "SSPL", "CC-BY-SA")

_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+\-() ]+?)\s*(?:\*/|-->|\*\)|$)", re.MULTILINE)
_GNU_VERSION = re.compile(r"version\s+([23])(?:\.[01])?\b", re.I)
_GNU_LATER = re.compile(r"version\s+[23](?:\.[01])?\b[^.]{0,80}?any\s+later\s+version", re.I)

# (SPDX id, pattern over whitespace-collapsed text), most specific first. GNU ids get their version below.
_TEXTS: list[tuple[str, re.Pattern[str]]] = [
    ("AGPL", re.compile(r"GNU AFFERO GENERAL PUBLIC LICENSE", re.I)),
    ("LGPL", re.compile(r"GNU (?:LESSER|LIBRARY) GENERAL PUBLIC LICENSE", re.I)),
    ("GPL", re.compile(r"GNU GENERAL PUBLIC LICENSE", re.I)),
    ("MPL-2.0", re.compile(r"Mozilla Public License,? v(?:ersion|\.)\s*2\.0", re.I)),
    ("EPL-2.0", re.compile(r"Eclipse Public License,? v(?:ersion|\.)?\s*2\.0", re.I)),
    ("EPL-1.0", re.compile(r"Eclipse Public License", re.I)),
    ("Apache-2.0", re.compile(r"Apache License,? Version 2\.0", re.I)),
    ("MIT", re.compile(r"Permission is hereby granted, free of charge, to any person obtaining a copy", re.I)),
    ("ISC", re.compile(r"Permission to use, copy, modify, and(?:/or)? distribute this software for any purpose", re.I)),
    ("BSD-3-Clause", re.compile(r"Redistribution and use in source and binary forms.*?Neither the name", re.I)),
    ("BSD-2-Clause", re.compile(r"Redistribution and use in source and binary forms", re.I)),
    ("Unlicense", re.compile(r"This is free and unencumbered software released into the public domain", re.I)),
    ("PSF-2.0", re.compile(r"PYTHON SOFTWARE FOUNDATION LICENSE", re.I)),
    ("MIT", re.compile(r"\bLicensed under the MIT License\b|\bMIT License\b", re.I)),
]


def _gnu_id(family: str, text: str) -> str:
    match = _GNU_VERSION.search(text)
    if family == "LGPL":
        version = "2.1" if match is None or match.group(1) == "2" else "3.0"
    else:
        version = "3.0" if match is None else f"{match.group(1)}.0"
    later = _GNU_LATER.search(text) is not None
    return f"{family}-{version}-{'or-later' if later else 'only'}"


def detect_text(text: str) -> str | None:
    """The licence named by an SPDX line or a known licence text in `text`, or None."""
    spdx = _SPDX_LINE.search(text)
    if spdx:
        return spdx.group(1).strip()
    flat = " ".join(text.split())
    for spdx_id, pattern in _TEXTS:
        if pattern.search(flat):
            return _gnu_id(spdx_id, flat) if spdx_id in ("GPL", "LGPL", "AGPL") else spdx_id
    return None


_COMMENT_STARTS = ("#", "//", "/*", "*", "--", ";", "<!--", "%", "(*", "rem ", "REM ")
_OPENERS = (('"""', '"""'), ("'''", "'''"), ('r"""', '"""'), ("/*", "*/"), ("<!--", "-->"), ("(*", "*)"))


def comment_text(text: str) -> str:
    """The comment lines of `text`, plus a docstring or block comment before any code.

    Licence texts quoted in code (a regular expression, a test string) are thereby not taken for a header.
    """
    out: list[str] = []
    closing: str | None = None
    code_seen = False
    for line in text.split("\n"):
        stripped = line.strip()
        if closing is not None:
            out.append(stripped)
            if closing in stripped:
                closing = None
            continue
        opener = next((pair for pair in _OPENERS if stripped.startswith(pair[0])), None)
        if opener is not None and (not code_seen or opener[0] in ("/*", "<!--", "(*")):
            out.append(stripped)
            if opener[1] not in stripped[len(opener[0]) :]:
                closing = opener[1]
            continue
        if stripped.startswith(_COMMENT_STARTS):
            out.append(stripped)
        elif stripped:
            code_seen = True
    return "\n".join(out)


def header_license(text: str) -> str | None:
    """The licence declared in the comments of the first `HEADER_LINES` lines of a source file, or None."""
    return detect_text(comment_text("\n".join(text.split("\n", HEADER_LINES)[:HEADER_LINES])))


def license_file(root: Path, rel_path: str) -> Path | None:
    """The nearest LICENSE/COPYING file for a repository-relative path, searching up to `root` (None for a
    path that is absolute or leaves the repository)."""
    folder = PurePosixPath(rel_path).parent
    if folder.is_absolute() or ".." in folder.parts:
        return None
    while True:
        for name in LICENSE_FILE_NAMES:
            candidate = root / folder / name
            if candidate.is_file():
                return candidate
        if folder == folder.parent:
            return None
        folder = folder.parent


class LicenseDetector:
    """Detects files' licences in one repository, caching what each folder's licence file says."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[Path, str | None] = {}

    def folder_license(self, rel_path: str) -> str | None:
        found = license_file(self.root, rel_path)
        if found is None:
            return None
        if found not in self._files:
            try:
                self._files[found] = detect_text(found.read_text(encoding="utf-8", errors="replace")[:20000])
            except OSError:
                self._files[found] = None
        return self._files[found]

    def detect(self, rel_path: str, text: str) -> str | None:
        """A file's licence: its own header first, else the nearest licence file's."""
        return header_license(text) or self.folder_license(rel_path)

    def project_license(self) -> str | None:
        """The licence of the repository root's licence file."""
        return self.folder_license("_")


def alternatives(expression: str) -> list[str]:
    """The licences an SPDX expression lets a user choose between (`A OR B` gives both)."""
    cleaned = expression.replace("(", " ").replace(")", " ")
    return [part.strip() for part in re.split(r"\s+OR\s+", cleaned, flags=re.I) if part.strip()]


def family(spdx_id: str) -> str:
    """The licence family of an id: `GPL-3.0-or-later` -> `GPL-3.0`, `GPL-2.0+` -> `GPL-2.0`."""
    base = spdx_id.strip().split(" WITH ")[0].removesuffix("+")
    for suffix in ("-only", "-or-later"):
        base = base.removesuffix(suffix)
    return base.upper()


def is_copyleft(expression: str | None) -> bool:
    """True when every alternative of the expression is a copyleft licence."""
    if not expression:
        return False
    parts = alternatives(expression)
    return bool(parts) and all(family(p).startswith(COPYLEFT_PREFIXES) for p in parts)


def same_license(a: str | None, b: str | None) -> bool:
    """True when two expressions share a licence family (so code may flow between them)."""
    if not a or not b:
        return False
    return bool({family(x) for x in alternatives(a)} & {family(x) for x in alternatives(b)})

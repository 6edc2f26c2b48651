from __future__ import annotations

from pathlib import Path

import pytest

from copilot_index.indexer.licenses import LicenseDetector, detect_text, header_license, is_copyleft, same_license

GPL2_HEADER = """# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 2 of the License, or
# (at your option) any later version."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("// SPDX-License-Identifier: MIT\nint x;", "MIT"),
        ("/* SPDX-License-Identifier: GPL-2.0-only */", "GPL-2.0-only"),
        ("# SPDX-License-Identifier: Apache-2.0 OR MIT", "Apache-2.0 OR MIT"),
        (GPL2_HEADER, "GPL-2.0-or-later"),
        ("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007", "AGPL-3.0-only"),
        ("GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999", "LGPL-2.1-only"),
        ("This Source Code Form is subject to the terms of the Mozilla Public\nLicense, v. 2.0.", "MPL-2.0"),
        ("Licensed under the Apache License, Version 2.0 (the \"License\");", "Apache-2.0"),
        ("Permission is hereby granted, free of charge, to any person obtaining a copy of this", "MIT"),
        ("Redistribution and use in source and binary forms, with or without modification... "
         "Neither the name of the copyright holder", "BSD-3-Clause"),
        ("def f():\n    return 1\n", None),
    ],
)
def test_detect_text(text: str, expected: str | None) -> None:
    assert detect_text(text) == expected


def test_nearest_license_file_wins_over_the_root(tmp_path: Path) -> None:
    (tmp_path / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person "
                                      "obtaining a copy\n")
    (tmp_path / "third" / "gnu").mkdir(parents=True)
    (tmp_path / "third" / "gnu" / "COPYING").write_text("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n")
    detector = LicenseDetector(tmp_path)
    assert detector.detect("third/gnu/deep/x.c", "int x;") == "GPL-3.0-only"
    assert detector.detect("src/app.py", "x = 1") == "MIT"
    assert detector.detect("src/app.py", "# SPDX-License-Identifier: Apache-2.0\n") == "Apache-2.0"
    assert detector.project_license() == "MIT"


@pytest.mark.parametrize(
    ("expression", "copyleft"),
    [("GPL-3.0-or-later", True), ("LGPL-2.1-only", True), ("MPL-2.0", True), ("EPL-2.0", True),
     ("AGPL-3.0-only", True), ("MIT", False), ("Apache-2.0", False), ("MIT OR GPL-2.0-only", False),
     ("GPL-2.0-only OR LGPL-2.1-only", True), (None, False)],
)
def test_copyleft(expression: str | None, copyleft: bool) -> None:
    assert is_copyleft(expression) is copyleft


def test_same_license_compares_families() -> None:
    assert same_license("GPL-3.0-only", "GPL-3.0-or-later")
    assert same_license("MIT OR Apache-2.0", "Apache-2.0")
    assert not same_license("GPL-2.0-only", "GPL-3.0-only")
    assert not same_license("MIT", None)


def test_licence_texts_quoted_in_code_are_not_a_header() -> None:
    code = 'PATTERNS = [\n    ("GPL", "GNU GENERAL PUBLIC LICENSE"),\n]\n# SPDX-License-Identifier: MIT\n'
    assert header_license(code) == "MIT"
    assert header_license('x = "SPDX-License-Identifier: GPL-2.0-only"\n') is None
    block = "/*\n  This program is free software under the terms of the\n  GNU General Public License version 2\n*/\nint x;"
    assert header_license(block) == "GPL-2.0-only"
    assert header_license('"""Module.\n\nLicensed under the Apache License, Version 2.0.\n"""\nimport os\n') == "Apache-2.0"

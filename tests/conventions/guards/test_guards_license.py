"""The licence guard on a real SQLite index: copyleft copies blocked, foreign copies attributed, headers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import guard_fixtures as fx  # noqa: E402

from copilot_index.conventions.guards import GuardPipeline, LicenseGuard, Suggestion  # noqa: E402
from copilot_index.indexer import DataDir, Index, RepoInfo  # noqa: E402
from copilot_index.indexer.chunker import Chunker  # noqa: E402
from copilot_index.indexer.licenses import LicenseDetector  # noqa: E402
from copilot_index.indexer.store import ChunkStore, StoredFile  # noqa: E402

APACHE_CODE = """def merge_sorted_runs(left, right, key=lambda item: item):
    merged, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if key(left[i]) <= key(right[j]):
            merged.append(left[i]); i += 1
        else:
            merged.append(right[j]); j += 1
    return merged + left[i:] + right[j:]
"""


@pytest.fixture
def planted(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A repository licensed MIT whose index holds a GPL-3.0 file and an Apache-2.0 file (no embedder needed)."""
    root = tmp_path / "repo"
    root.mkdir()
    fx.write_planted_repo(root)
    index = Index(RepoInfo(root, None), DataDir(tmp_path / "unit-index"))
    store = ChunkStore(index.data_dir.database)
    store.ensure_embedder("test", 8)
    detector = LicenseDetector(root)
    chunker = Chunker()
    files = {"gpl/matrix.c": fx.GPL_HEADER + fx.GPL_BODY, "vendorlib/merge.py": APACHE_CODE}
    licenses = {"gpl/matrix.c": detector.detect("gpl/matrix.c", files["gpl/matrix.c"]), "vendorlib/merge.py": "Apache-2.0"}
    with store.transaction():
        for path, text in files.items():
            chunks = chunker.chunk(path, text)
            store.write_file(StoredFile(path, path, 1, 1), "c", chunks, [bytes(32)] * len(chunks), license=licenses[path])
    store.close()
    yield root, index, detector
    index.close()


def into_mit_file(text: str, language: str = "c", path: str = "src/report.c") -> Suggestion:
    doc = fx.MIT_DOCUMENT
    return Suggestion(text, doc, doc.count("\n"), len(doc.split("\n")[-1]), language, path, "MIT")


@pytest.mark.parametrize("start_line", [4, 11, 13, 20])
def test_150_characters_of_gpl_code_into_an_mit_file_are_blocked(planted, start_line: int) -> None:  # type: ignore[no-untyped-def]
    root, index, detector = planted
    guard = LicenseGuard(index=index, detector=detector)
    decision = guard.check(into_mit_file(fx.copy_of_gpl(150, start_line)))
    assert decision.action == "block", decision.reason
    assert decision.evidence["license"] == "GPL-3.0-or-later" and decision.evidence["path"] == "gpl/matrix.c"
    assert decision.evidence["matched_chars"] >= 150
    assert decision.evidence["start_line"] >= 10  # lines of the GPL file, after its header


@pytest.mark.parametrize("start_line", [4, 11, 13, 20])
def test_100_characters_are_allowed(planted, start_line: int) -> None:  # type: ignore[no-untyped-def]
    root, index, detector = planted
    guard = LicenseGuard(index=index, detector=detector)
    assert guard.check(into_mit_file(fx.copy_of_gpl(100, start_line))).action == "allow"


def test_the_same_copy_into_a_gpl_file_is_allowed(planted) -> None:  # type: ignore[no-untyped-def]
    root, index, detector = planted
    s = into_mit_file(fx.copy_of_gpl(200, 11), path="gpl/other.c")
    s.file_license = "GPL-3.0-only"
    assert LicenseGuard(index=index, detector=detector).check(s).action == "allow"


def test_permissive_foreign_code_is_annotated_with_attribution(planted) -> None:  # type: ignore[no-untyped-def]
    root, index, detector = planted
    decision = LicenseGuard(index=index, detector=detector).check(
        Suggestion(APACHE_CODE, "", 0, 0, "python", "src/util.py", "MIT"))
    assert decision.action == "annotate"
    assert decision.evidence["path"] == "vendorlib/merge.py" and decision.evidence["license"] == "Apache-2.0"
    assert "attribution" in decision.reason and decision.evidence["start_line"] == 1


def test_a_foreign_licence_header_is_blocked(planted) -> None:  # type: ignore[no-untyped-def]
    root, index, detector = planted
    guard = LicenseGuard(index=index, detector=detector)
    assert guard.project_license == "MIT"
    assert guard.check(Suggestion(fx.GPL_HEADER, "", 0, 0, "c", "src/new.c")).action == "block"
    assert guard.check(Suggestion("// SPDX-License-Identifier: MIT\n", "", 0, 0, "c", "src/new.c")).action == "allow"


def test_real_indexer_stores_licences_and_fingerprints(planted, run_index, open_index) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = planted
    run_index(root)
    with open_index(root) as index:
        assert index.file_license("gpl/matrix.c") == "GPL-3.0-or-later"
        assert index.file_license("src/report.c") == "MIT"
        pipeline = GuardPipeline.for_index(index)
        result = pipeline.check(into_mit_file(fx.copy_of_gpl(160, 11)))
        assert result.blocked and [d.guard for d in result.decisions if d.action == "block"] == ["license"]

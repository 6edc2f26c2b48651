"""Hostile or broken input, case by case: one sentence, the right exit code, and nothing lost (issue 20).

Each case is one that once broke a whole command: a repository's settings choosing where code goes, a
symlink loop, a file name that is not UTF-8, a path outside the repository, a lone surrogate, an absurd
thread count, a damaged or future database, an interrupted rebuild, an unwritable or full data directory.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlean
from fixtures_code import GEOMETRY, HTTP
from recording_server import RecordingServer

from copilot_index.indexer.store import storage_error
from copilot_index.server.cli import main as cli_main

CLI = [sys.executable, "-m", "copilot_index.server.cli"]


def _cli(data_dir: Path, *args: str) -> int:
    return cli_main(["--data-dir", str(data_dir), *args])


def _one_sentence(text: str) -> str:
    line = text.strip().splitlines()[-1]
    assert line.startswith("error:") and "Traceback" not in text, text
    return line


def _complete(data_dir: Path, root: Path, request: dict, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request) + "\n"))
    return _cli(data_dir, "complete", "--repo", str(root), "--json", "-")


def test_a_repositorys_settings_send_nothing_away_before_trust(repo, data_dir, capsys, monkeypatch):
    repo.write("app.py", "def area(r):\n    return \n")
    repo.write(".env", "API_KEY=k8Qz3LmP0vXw7RtY2nB5cD9fG1hJ4kL6\nDB_PASSWORD=Tr0ub4dor-and-3-more\n")
    request = {"path": "app.py", "text": "def area(r):\n    return ", "line": 1, "character": 11}
    with RecordingServer("3.14 * r * r") as server:
        repo.write(".copilot-index.toml", f'[completion]\nbackend = "openai"\nendpoint = "{server.url}"\nmodel = "m"\n'
                                          'template = "copilot-index-default"\n[guards.secrets]\nenabled = false\n')
        assert _complete(data_dir, repo.root, request, monkeypatch) == 0
        out = capsys.readouterr()
        assert server.requests == []
        assert "copilot-index trust" in out.err and "completion.endpoint" in out.err and "guards.secrets" in out.err
        assert json.loads(out.out)["completion"] != "3.14 * r * r"  # made on this machine

        assert cli_main(["trust", str(repo.root)]) == 0
        assert "Trusted" in capsys.readouterr().out
        assert _complete(data_dir, repo.root, request, monkeypatch) == 0
        out = capsys.readouterr()
        assert len(server.requests) == 1 and json.loads(out.out)["completion"] == "3.14 * r * r"
        assert f"completions are sent to {server.url}" in out.err
        assert cli_main(["trust", "--revoke", str(repo.root)]) == 0
    assert "Tr0ub4dor" not in json.dumps(server.requests) and "k8Qz3LmP0" not in json.dumps(server.requests)


def test_one_hostile_file_never_stops_the_run(repo, data_dir, capsys):
    repo.write("geometry.py", GEOMETRY)
    os.symlink("loop-b", repo.root / "loop-a")
    os.symlink("loop-a", repo.root / "loop-b")
    (repo.root / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")  # Latin-1, not UTF-8
    (repo.root / "vocab.json").write_text(json.dumps({"merges": [f"a{i} b{i}" for i in range(20000)]}))
    repo.commit("hostile names")
    assert _cli(data_dir, "-v", "index", str(repo.root), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["files_scanned"] == 1 and summary["chunks_embedded"] >= 2
    assert _cli(data_dir, "-v", "index", str(repo.root)) == 0
    listed = capsys.readouterr().out
    assert "loop-a: symlink that loops" in listed and "not valid UTF-8" in listed
    assert "vocab.json: data file (JSON" in listed
    (repo.root / ".copilotignore").write_text("!vocab.json\n")  # brought back on purpose
    assert _cli(data_dir, "index", str(repo.root), "--json") == 0
    assert json.loads(capsys.readouterr().out)["files_scanned"] == 3  # geometry.py, .copilotignore, vocab.json


@pytest.mark.parametrize(("request_", "words"), [
    ({"path": "/etc/passwd", "text": "root:x:0:0", "line": 0, "character": 3}, "relative to the repository"),
    ({"path": "../outside.py", "text": "x = 1", "line": 0, "character": 1}, "relative to the repository"),
    ({"path": "a.py", "text": "x = '\ud800'", "line": 0, "character": 1}, "lone UTF-16 surrogate"),
])
def test_bad_completion_requests_get_one_sentence_fast(repo, data_dir, capsys, monkeypatch, request_, words):
    started = time.monotonic()
    assert _complete(data_dir, repo.root, request_, monkeypatch) == 1
    assert time.monotonic() - started < 30
    assert words in json.loads(capsys.readouterr().out)["error"]


def test_absurd_settings_fall_back_with_a_warning(repo, data_dir, capsys, monkeypatch):
    repo.write(".copilot-index.toml", '[completion]\nthreads = 100000\nbackend = "openai"\nendpoint = "not a url"\n')
    assert cli_main(["trust", str(repo.root)]) == 0
    capsys.readouterr()
    request = {"path": "a.py", "text": "def f():\n    return ", "line": 1, "character": 11}
    assert _complete(data_dir, repo.root, request, monkeypatch) == 1  # the default endpoint does not answer
    out = capsys.readouterr()
    assert "completion.threads must be at most" in out.err and "completion.endpoint must be an http" in out.err
    assert "did not answer" in json.loads(out.out)["error"] and "Traceback" not in out.err


def test_search_asks_for_a_sane_k(repo, data_dir, run_index, capsys):
    repo.write("geometry.py", GEOMETRY)
    repo.commit()
    run_index(repo.root)
    assert _cli(data_dir, "search", "circle", "--repo", str(repo.root), "-k", "1025") == 2
    assert "-k must be between 1 and 1000" in _one_sentence(capsys.readouterr().err)


def test_a_damaged_or_future_database_is_refused_and_left_alone(repo, data_dir, run_index, capsys):
    repo.write("geometry.py", GEOMETRY)
    repo.write("net/http.py", HTTP)
    repo.commit()
    run_index(repo.root)
    db = data_dir / "index.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    assert _cli(data_dir, "index", str(repo.root)) == 2
    assert "newer copilot-index (schema 99" in _one_sentence(capsys.readouterr().err)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    raw = bytearray(db.read_bytes())
    page = len(raw) // pages
    for number in range(pages // 2, pages):  # scribble over the second half of the pages' contents
        raw[number * page + 8 : number * page + page // 2] = b"\xa5" * (page // 2 - 8)
    db.write_bytes(bytes(raw))
    before = db.read_bytes()
    assert _cli(data_dir, "index", str(repo.root)) == 2
    assert "--rebuild" in _one_sentence(capsys.readouterr().err)
    assert db.read_bytes() == before  # nothing was written to the damaged file
    assert _cli(data_dir, "index", str(repo.root), "--rebuild", "--json") == 0


def test_an_interrupted_rebuild_keeps_the_old_index(repo, data_dir, run_index):
    for i in range(240):
        repo.write(f"pkg/mod_{i}.py", GEOMETRY.replace("circle_area", f"circle_area_{i}"))
    repo.commit("many")
    run_index(repo.root)
    db = data_dir / "index.db"
    files_before = sqlite3.connect(db).execute("SELECT count(*) FROM files").fetchone()[0]
    proc = subprocess.Popen([*CLI, "--data-dir", str(data_dir), "index", str(repo.root), "--rebuild", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    staging = data_dir / "rebuild-index.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not staging.exists() and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert staging.exists(), "the rebuild was not interrupted while building"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == files_before  # the old index, whole
    conn.close()
    assert run_index(repo.root).files_changed == 0


def test_an_unusable_data_directory_is_said_in_one_sentence(repo, tmp_path, capsys):
    repo.write("a.py", "x = 1\n")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data directory should be")
    assert _cli(blocker / "index", "index", str(repo.root)) == 2
    assert "cannot be written" in _one_sentence(capsys.readouterr().err)


def test_read_only_and_full_databases_get_the_right_advice(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    conn = sqlean.connect(str(path))
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    readonly = sqlean.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlean.OperationalError) as error:
        readonly.execute("INSERT INTO t VALUES (1)")
    advice = str(storage_error(error.value, path))
    assert "cannot be written" in advice and "--data-dir" in advice and "--rebuild" not in advice
    full = sqlean.connect(str(path))
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlean.OperationalError) as error:
        full.execute("INSERT INTO t SELECT zeroblob(100000)")
    advice = str(storage_error(error.value, path))
    assert "is full" in advice and "--rebuild" not in advice

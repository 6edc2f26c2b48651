"""Bad input gets one clear sentence, a non-zero exit where it is an error, and loses nothing."""

from __future__ import annotations

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

from copilot_index.indexer import DataDir, Index, IndexConfig, set_trusted
from copilot_index.indexer.lock import IndexLock
from copilot_index.indexer.repo import resolve_repo
from copilot_index.indexer.scanner import bundle_reason
from copilot_index.server.cli import main as cli_main

LARGE = IndexConfig().max_data_file_bytes
"""Source files above this size are judged as data or build output."""


def _cli(data_dir: Path, *args: str) -> int:
    return cli_main(["--data-dir", str(data_dir), *args])


def _one_sentence(text: str) -> str:
    line = text.strip()
    assert line.startswith("error:"), line
    assert "\n" not in line and "Traceback" not in line
    return line


def test_not_a_folder(tmp_path, data_dir, capsys):
    assert _cli(data_dir, "index", str(tmp_path / "missing")) == 2
    assert "does not exist" in _one_sentence(capsys.readouterr().err)
    (tmp_path / "file.txt").write_text("x")
    assert _cli(data_dir, "index", str(tmp_path / "file.txt")) == 2
    assert "is not a folder" in _one_sentence(capsys.readouterr().err)


def test_search_before_index_says_what_to_do(repo, data_dir, capsys):
    repo.write("a.py", "x = 1\n")
    assert _cli(data_dir, "search", "anything", "--repo", str(repo.root)) == 2
    assert "copilot-index index" in _one_sentence(capsys.readouterr().err)


def test_empty_repository_and_detached_head(repo, data_dir, run_index):
    empty = run_index(repo.root)
    assert empty.files_scanned == 0 and empty.commit is None
    repo.write("geometry.py", GEOMETRY)
    first = run_index(repo.root)  # no commit yet: the untracked file is indexed all the same
    assert first.files_scanned == 1 and first.commit is None and first.chunks_embedded >= 2
    c1 = repo.commit("one")
    repo.write("net/http.py", HTTP)
    repo.commit("two")
    assert run_index(repo.root).files_changed == 1
    repo.git("checkout", "-q", "--detach", c1)
    detached = run_index(repo.root)
    assert detached.commit == c1 and detached.files_changed == 1 and detached.chunks_deleted >= 1


def test_odd_files_are_skipped_or_decoded(repo, data_dir, run_index, open_index):
    repo.write("latin1.py", b"def caf\xe9():\n    return 'd\xe9j\xe0 vu'\n")
    repo.write("huge_line.js", "var a=" + "1," * (5 * 1024 * 1024) + "1;")
    repo.write("minified.js", ("function a(b){return b+1};" * 40 + "\n") * 20)
    repo.write("blob.bin", b"\x00\x01\x02" * 100)
    repo.write("vendor/lib.py", "def vendored():\n    pass\n")
    repo.write("private/notes.py", "def private_notes():\n    pass\n")
    repo.write(".copilotignore", "private/\n")
    repo.write(".gitignore", "ignored.py\n")
    repo.write("ignored.py", "def ignored():\n    pass\n")
    # Markdown whose paragraphs are one line each is prose, not minified; a picture inlined as data is not.
    paragraph = "The player keeps its volume between sessions, and the settings page says so in plain words. " * 8
    repo.write("docs/guide.md", "# Guide\n\n" + f"{paragraph}\n\n" * 6)
    repo.write("docs/inline.md", "# Logo\n\n![logo](data:image/png;base64," + "iVBORw0KGgo" * 600 + ")\n")
    repo.commit("odd files")
    summary = run_index(repo.root)
    skipped = dict(summary.skipped)
    assert "docs/guide.md" not in skipped and "minified" in skipped["docs/inline.md"]
    assert "larger than" in skipped["huge_line.js"]
    assert "minified" in skipped["minified.js"]
    assert skipped["blob.bin"] == "binary file"
    assert skipped["vendor/lib.py"] == "vendored or generated path"
    assert skipped["private/notes.py"] == "listed in .copilotignore"
    assert "ignored.py" not in skipped  # git already ignores it: never even listed
    conn = sqlite3.connect(data_dir / "index.db")
    paths = {row[0] for row in conn.execute("SELECT path FROM files")}
    assert "latin1.py" in paths and "ignored.py" not in paths and "vendor/lib.py" not in paths
    text = conn.execute("SELECT text FROM chunks JOIN files ON files.id = chunks.file_id WHERE path='latin1.py'").fetchone()
    assert "caf\ufffd" in text[0]

    # The files read and skipped are not changes waiting for the next index, until they change.
    with open_index(repo.root) as index:
        status = index.status()
    assert (status.pending, status.files_skipped) == (0, 3)  # minified.js, blob.bin, docs/inline.md (read, then skipped)
    repo.write("minified.js", ("function a(b){return b+2};" * 40 + "\n") * 20)
    with open_index(repo.root) as index:
        status = index.status()
    assert (status.pending_new, status.files_skipped) == (1, 2)
    assert "minified" in dict(run_index(repo.root).skipped)["minified.js"]
    with open_index(repo.root) as index:
        assert (index.status().pending, index.status().files_skipped) == (0, 3)


def test_a_data_table_written_as_code_is_skipped_unless_brought_back(repo, data_dir, run_index):
    entry = ('  {{\n    "name": "volume{i}",\n    "description": "Sets the volume of player {i} and returns it.",\n'
             '    "lineno": {i},\n    "params": [],\n    "inherited": false\n  }},\n')
    # Each file just past the size from which files are judged (more would only add seconds of embedding).
    repo.write("docs/doc-data.js", "var docData = [\n" + "".join(entry.format(i=i) for i in range(560)) + "];\n")
    # A large module of real code full of small literals stays: its functions are code, not a table.
    handler = ("function onVolume{i}(player) {{\n  const limits = {{\n    low: 0,\n    high: {i},\n  }};\n"
               "  return Math.min(player.volume(), limits.high);\n}}\n\n")
    repo.write("src/handlers.js", "".join(handler.format(i=i) for i in range(560)))
    assert min(len((repo.root / p).read_bytes()) for p in ("docs/doc-data.js", "src/handlers.js")) > LARGE
    repo.commit("a generated table and a large module")
    skipped = dict(run_index(repo.root).skipped)
    assert skipped["docs/doc-data.js"].startswith("data written as code (100% of its lines are literals")
    assert "src/handlers.js" not in skipped
    conn = sqlean.connect(str(data_dir / "index.db"))  # the SQLite the index is written with
    assert {row[0] for row in conn.execute("SELECT path FROM files")} == {"src/handlers.js"}
    assert _brought_back(repo, run_index, conn, "docs/doc-data.js") > 0


def _brought_back(repo, run_index, conn: sqlean.Connection, path: str) -> int:
    """Bring `path` back with a `!path` line in `.copilotignore` and index again: the chunks it now has."""
    repo.write(".copilotignore", f"!{path}\n")
    repo.commit(f"index {path} on purpose")
    assert path not in dict(run_index(repo.root).skipped)
    [(chunks,)] = conn.execute("SELECT COUNT(*) FROM chunks JOIN files ON files.id = chunks.file_id WHERE path = ?",
                               (path,)).fetchall()
    return int(chunks)


def test_build_output_is_skipped_unless_brought_back(repo, data_dir, run_index):
    module = ("  {i}: [function(require, module, exports) {{\n    function volume{i}(player) {{\n"
              "      return player.volume() * {i};\n    }}\n    module.exports = volume{i};\n  }}, {{}}],\n")
    prelude = ("(function e(t, n, r) {\n  function s(o) {\n    if (!t[o]) {\n"
               "      var f = new Error(\"Cannot find module '\" + o + \"'\");\n"
               "      throw f.code = \"MODULE_NOT_FOUND\", f;\n    }\n  }\n  return s;\n})({\n")
    modules = "".join(module.format(i=i) for i in range(480))
    assert len(modules) > LARGE
    repo.write("docs/js/index.js", prelude + modules + "});\n")
    repo.write("lib/player.js", modules.replace("  }, {}],", "  },") + "//# sourceMappingURL=player.js.map\n")
    # A small file that names its source map stays, and so does large code naming a loader's error deep inside.
    repo.write("src/small.js", "export const x = 1;\n//# sourceMappingURL=small.js.map\n")
    assert bundle_reason(modules + 'if (err.code === "MODULE_NOT_FOUND") {}\n', IndexConfig()) is None
    repo.commit("a bundle, compiled output and sources")
    skipped = dict(run_index(repo.root).skipped)
    assert skipped["docs/js/index.js"].startswith("build output (opens with a bundler's module loader")
    assert skipped["lib/player.js"].startswith("build output (ends by naming its source map")
    assert "src/small.js" not in skipped
    conn = sqlean.connect(str(data_dir / "index.db"))  # the SQLite the index is written with
    assert {row[0] for row in conn.execute("SELECT path FROM files")} == {"src/small.js"}
    assert _brought_back(repo, run_index, conn, "docs/js/index.js") > 0
    repo.write(".copilotignore", "# no longer\n")  # the line goes: the unchanged bundle leaves the index again
    repo.commit("stop indexing the bundle")
    assert dict(run_index(repo.root).skipped)["docs/js/index.js"].startswith("build output")
    assert conn.execute("SELECT COUNT(*) FROM files WHERE path = 'docs/js/index.js'").fetchall() == [(0,)]


def test_symlink_outside_and_submodule_are_skipped(repo, tmp_path, run_index):
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET_PLAN = 1\n")
    os.symlink(outside, repo.root / "link.py")
    sub = tmp_path / "subrepo"
    sub.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=sub, check=True)
    (sub / "s.py").write_text("x = 1\n")
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "add", "-A"], cwd=sub, check=True)
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "s"], cwd=sub, check=True)
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "deps/sub")
    repo.write("main.py", "def main():\n    pass\n")
    repo.commit("with submodule and link")
    skipped = dict(run_index(repo.root).skipped)
    assert skipped["link.py"] == "symlink pointing outside the repository"
    assert skipped["deps/sub"] == "git submodule"


def test_file_vanishing_mid_index(repo, data_dir, embedder):
    repo.write("a.py", GEOMETRY)
    repo.write("z.py", HTTP)
    repo.commit("two files")

    def vanish(description: str, done: int, total: int) -> None:
        if done == 1:
            (repo.root / "z.py").unlink(missing_ok=True)

    summary = Index(resolve_repo(repo.root), DataDir(data_dir)).update(embedder=embedder, progress=vanish)
    assert summary.files_scanned == 2
    conn = sqlite3.connect(data_dir / "index.db")
    assert {r[0] for r in conn.execute("SELECT path FROM files")} == {"a.py"}


def test_corrupt_and_foreign_database(repo, data_dir, run_index, capsys):
    repo.write("a.py", GEOMETRY)
    repo.commit()
    data_dir.mkdir(parents=True)
    (data_dir / "index.db").write_bytes(b"this is not a database at all" * 100)
    assert _cli(data_dir, "index", str(repo.root)) == 2
    assert "--rebuild" in _one_sentence(capsys.readouterr().err)
    assert _cli(data_dir, "index", str(repo.root), "--rebuild", "--json") == 0
    assert json.loads(capsys.readouterr().out)["files_scanned"] == 1

    for suffix in ("", "-wal", "-shm"):
        Path(str(data_dir / "index.db") + suffix).unlink(missing_ok=True)
    foreign = sqlite3.connect(data_dir / "index.db")
    foreign.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)")
    foreign.commit()
    foreign.close()
    assert _cli(data_dir, "status", "--repo", str(repo.root)) == 2
    assert "not a copilot-index database" in _one_sentence(capsys.readouterr().err)
    still = sqlite3.connect(data_dir / "index.db")  # the foreign file was not touched
    assert still.execute("SELECT name FROM sqlite_master").fetchall() == [("customers",)]


def test_embedder_change_asks_for_rebuild(repo, data_dir, run_index, capsys):
    repo.write("a.py", GEOMETRY)
    repo.commit()
    run_index(repo.root)
    repo.write(".copilot-index.toml", '[index]\nembedder = "some-other-model"\nbatch_size = "many"\n')
    assert _cli(data_dir, "index", str(repo.root)) == 0  # an untrusted repository does not choose the model
    err = capsys.readouterr().err
    assert "index.embedder" in err and "copilot-index trust" in err and "batch_size" in err
    set_trusted(repo.root)
    assert _cli(data_dir, "index", str(repo.root)) == 2
    err = capsys.readouterr().err
    assert "batch_size" in err  # the bad value is reported, and the default is used
    assert "--rebuild" in err.strip().splitlines()[-1]


def test_two_indexers_at_once(repo, data_dir, capsys):
    repo.write("a.py", GEOMETRY)
    repo.commit()
    with IndexLock(data_dir / "index.lock"):
        assert _cli(data_dir, "index", str(repo.root)) == 3
        assert "Another copilot-index process" in _one_sentence(capsys.readouterr().err)
    assert not (data_dir / "index.db").exists()  # nothing was written by the refused run


FILES = 200


def _many_files(repo) -> int:  # type: ignore[no-untyped-def]
    # Enough for several embedding batches (256 chunks each), so that a signal sent once the first batch is
    # written still lands before the last one, even on a busy machine.
    for i in range(FILES):
        repo.write(f"pkg/mod_{i:03d}.py", GEOMETRY.replace("circle_area", f"circle_area_{i}") + f"\nVALUE_{i} = {i}\n")
    repo.commit("many files")
    return FILES


def _files_in_db(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        return int(conn.execute("SELECT count(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_mid_index_converges(repo, data_dir, run_index, sig):
    total = _many_files(repo)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot_index.server.cli", "--data-dir", str(data_dir), "index", str(repo.root), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # A test run started in the background by a shell (`make test &`) ignores SIGINT, and a child inherits
        # that: the indexer must see the signal as a user's Ctrl-C would deliver it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _files_in_db(data_dir / "index.db") == 0 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    done_before = _files_in_db(data_dir / "index.db")
    assert 0 < done_before < total, "the run was not interrupted mid-index"
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Interrupted" in err
    resumed = run_index(repo.root)
    assert resumed.files_changed == total - done_before
    assert run_index(repo.root).files_changed == 0
    conn = sqlite3.connect(data_dir / "index.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == total
    assert conn.execute("SELECT count(*) FROM files WHERE chunk_count = 0").fetchone()[0] == 0

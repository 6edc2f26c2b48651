"""End to end: real git repositories, the real embedder, real SQLite + sqlite-vec + FTS5."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures_code import GEOMETRY, HTTP, SECRET_VALUE, SETTINGS, STORAGE_GO

from copilot_index.indexer import DEFAULT_EMBEDDER, DataDir, Index, IndexConfig
from copilot_index.indexer.repo import resolve_repo
from copilot_index.indexer.store import ChunkStore
from copilot_index.server.cli import main as cli_main


def _index(data_dir: Path, root: Path) -> Index:
    return Index(resolve_repo(root), DataDir(data_dir), IndexConfig(embedder_backend="torch"))


def _store(data_dir: Path, root: Path) -> ChunkStore:
    return ChunkStore(_index(data_dir, root).data_dir.database, create=False)


def _search(data_dir: Path, root: Path, embedder, query: str, **kw):  # type: ignore[no-untyped-def]
    with _index(data_dir, root) as index:
        return index.search(query, **kw)


def _seed(repo) -> None:  # type: ignore[no-untyped-def]
    repo.write("geometry.py", GEOMETRY)
    repo.write("net/http.py", HTTP)
    repo.write("storage/atomic.go", STORAGE_GO)
    repo.write("README.md", "# Demo\n\nA small project used by the tests.\n")
    repo.commit("initial")


def test_first_index_then_incremental_edit_rename_delete(repo, data_dir, run_index, embedder):
    _seed(repo)
    first = run_index(repo.root)
    assert first.files_scanned == 4 and first.files_changed == 4
    assert first.chunks_embedded > 0 and first.commit == repo.git("rev-parse", "HEAD")

    again = run_index(repo.root)
    assert (again.files_changed, again.chunks_embedded, again.chunks_deleted) == (0, 0, 0)

    # Edit one function: only that file changes, and only its new chunk is embedded.
    repo.write("geometry.py", GEOMETRY.replace("radius * radius", "radius ** 2"))
    repo.commit("edit")
    edit = run_index(repo.root)
    assert edit.files_changed == 1
    assert edit.chunks_embedded == 1
    assert edit.chunks_deleted == 1
    assert edit.chunks_reused >= 2

    # A rename re-embeds nothing: every chunk hash is already known.
    (repo.root / "shapes").mkdir()
    repo.git("mv", "geometry.py", "shapes/plane.py")
    repo.commit("rename")
    renamed = run_index(repo.root)
    assert renamed.chunks_embedded == 0
    assert renamed.files_changed == 2 and renamed.files_renamed == 1
    hits = _search(data_dir, repo.root, embedder, "area of a circle", k=3)
    assert hits[0].path == "shapes/plane.py" and hits[0].symbol == "circle_area"
    assert (hits[0].start_line, hits[0].end_line) == (6, 8)

    # Deleting a file removes its chunks from search.
    repo.git("rm", "-q", "storage/atomic.go")
    repo.commit("delete")
    deleted = run_index(repo.root)
    assert deleted.chunks_deleted >= 1
    assert all(r.path != "storage/atomic.go" for r in _search(data_dir, repo.root, embedder, "atomic write", k=10))


def test_branch_switch_and_back_embeds_nothing(repo, data_dir, run_index):
    _seed(repo)
    run_index(repo.root)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("net/http.py", HTTP + "\n\ndef is_success(status):\n    return 200 <= status < 300\n")
    repo.write("net/client.py", "def fetch(url):\n    return url\n")
    repo.commit("feature work")
    feature = run_index(repo.root)
    assert feature.chunks_embedded >= 2
    repo.git("checkout", "-q", "main")
    back = run_index(repo.root)
    assert back.chunks_embedded == 0 and back.files_changed == 2
    repo.git("checkout", "-q", "feature")
    forth = run_index(repo.root)
    assert forth.chunks_embedded == 0


def test_search_modes_filters_and_no_overlap(repo, data_dir, run_index, embedder):
    _seed(repo)
    big_class = "class Registry:\n    \"\"\"A registry of plugins.\"\"\"\n\n" + "".join(
        f"    def plugin_{i}(self):\n        \"\"\"Return plugin number {i}.\"\"\"\n" + "        x = 1\n" * 8
        + f"        return {i}\n\n"
        for i in range(9)
    )
    repo.write("registry.py", big_class)
    repo.commit("registry")
    run_index(repo.root)
    # Identifier-aware keywords: camelCase in the code, words in the query.
    kw = _search(data_dir, repo.root, embedder, "parse http header", mode="keyword", k=3)
    assert kw[0].symbol == "parseHTTPHeader" and kw[0].path == "net/http.py"
    dense = _search(data_dir, repo.root, embedder, "write a file without readers seeing partial data", mode="dense", k=3)
    assert dense[0].path == "storage/atomic.go" and dense[0].language == "go"
    go_only = _search(data_dir, repo.root, embedder, "backoff delay", k=5, language="go")
    assert go_only and all(r.language == "go" for r in go_only)
    net_only = _search(data_dir, repo.root, embedder, "retry", k=5, path_glob="net/*")
    assert net_only and all(r.path.startswith("net/") for r in net_only)
    results = _search(data_dir, repo.root, embedder, "plugin registry", k=20)
    spans: dict[str, list[tuple[int, int]]] = {}
    for r in results:
        for a, b in spans.get(r.path, []):
            assert r.end_line < a or r.start_line > b, f"{r.path}:{r.start_line}-{r.end_line} overlaps {a}-{b}"
        spans.setdefault(r.path, []).append((r.start_line, r.end_line))


def test_secrets_never_reach_the_database(repo, data_dir, run_index, embedder):
    _seed(repo)
    repo.write("config/settings.py", SETTINGS)
    repo.commit("settings")
    summary = run_index(repo.root)
    assert summary.secrets_redacted >= 2
    blob = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert SECRET_VALUE.encode() not in blob
    assert b"Sup3rS3cretPassw0rd" not in blob
    hits = _search(data_dir, repo.root, embedder, "AWS access key", k=3, path_glob="config/*")
    assert "<redacted-secret>" in hits[0].text and SECRET_VALUE not in hits[0].text


def test_cli_json_contract_and_stdin_queries(repo, data_dir, capsys, monkeypatch, embedder):
    _seed(repo)
    assert cli_main(["--data-dir", str(data_dir), "index", str(repo.root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("files_scanned", "files_changed", "chunks_embedded", "chunks_reused", "chunks_deleted", "seconds", "commit"):
        assert key in summary
    assert summary["files_scanned"] == 4

    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("area of a circle\n\nparse http header\n"))
    assert cli_main(["--data-dir", str(data_dir), "search", "-", "--repo", str(repo.root), "-k", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["area of a circle", "parse http header"]
    first = lines[0]["results"][0]
    assert set(first) == {"path", "start_line", "end_line", "symbol", "kind", "language", "score", "text"}
    assert first["path"] == "geometry.py"

    repo.write("extra.py", "def extra():\n    return 1\n")
    assert cli_main(["--data-dir", str(data_dir), "status", "--repo", str(repo.root), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["files"] == 4 and status["pending_new"] == 1 and status["embedder"] == DEFAULT_EMBEDDER
    assert status["chunks_per_language"]["python"] >= 3 and status["database_bytes"] > 0


def test_plain_folder_is_indexed_by_content_hash(tmp_path, data_dir, run_index, embedder):
    root = tmp_path / "plain"
    root.mkdir()
    (root / "geometry.py").write_text(GEOMETRY)
    summary = run_index(root)
    assert summary.commit is None and summary.files_scanned == 1 and summary.chunks_embedded >= 2
    with _index(data_dir, root) as index:
        status = index.status()
    assert status.files == 1 and status.pending == 0


def test_an_index_chunked_by_an_earlier_version_is_chunked_again_once(repo, data_dir, run_index, embedder,  # type: ignore[no-untyped-def]
                                                                      monkeypatch):
    from copilot_index.indexer import definitions, pipeline

    _seed(repo)
    repo.write("lib/query.js", "/**\n * Caps how many documents come back.\n */\n\n"
                               "Query.prototype.limit = function limit(val) {\n  this.n = val;\n  return this;\n};\n")
    repo.commit("js")
    with monkeypatch.context() as old:  # as a release before the JSDoc rule chunked it
        old.setattr(definitions, "_is_doc_block", lambda node: False)
        old.setattr(pipeline, "CHUNKING_VERSION", "1")
        first = run_index(repo.root)
    assert first.files_changed == 5
    limit = [h for h in _search(data_dir, repo.root, embedder, "how many documents come back", k=5)
             if h.symbol == "Query.prototype.limit"]
    assert limit and limit[0].start_line == 5
    with _index(data_dir, repo.root) as index:
        assert index.status().pending_modified == 5  # what the next update will chunk again

    upgraded = run_index(repo.root)  # nothing changed on disk; the chunking did
    assert upgraded.files_changed == 5 and upgraded.chunks_embedded == 1  # the function's new chunk only
    limit = [h for h in _search(data_dir, repo.root, embedder, "how many documents come back", k=5)
             if h.symbol == "Query.prototype.limit"]
    assert limit and limit[0].start_line == 1
    assert run_index(repo.root).files_changed == 0  # once
    with _index(data_dir, repo.root) as index:
        assert index.status().pending == 0


def test_keyword_scores_after_many_updates_match_a_fresh_index(repo, tmp_path, data_dir, run_index, embedder):
    """A contentless FTS5 table keeps deleted rows in its bm25 statistics; the index rebuilds it before they skew
    the keyword scores, so an index edited again and again scores as one built once from the same files."""
    _seed(repo)
    run_index(repo.root)
    for step in range(3):
        repo.write("geometry.py", GEOMETRY.replace("radius * radius", f"radius * radius * {step + 2} / {step + 2}"))
        repo.commit(f"edit {step}")
        run_index(repo.root)
    fresh = Index(resolve_repo(repo.root), DataDir(tmp_path / "fresh"), IndexConfig(embedder_backend="torch"))
    with fresh:
        fresh.update(embedder=embedder)
    query = "area of a circle from its radius, and http request headers"
    with _index(data_dir, repo.root) as edited, fresh:
        got = [(h.path, h.symbol, round(h.score, 9)) for h in edited.search(query, k=8, mode="keyword")]
        want = [(h.path, h.symbol, round(h.score, 9)) for h in fresh.search(query, k=8, mode="keyword")]
    assert got == want and len(got) >= 3
    store = _store(data_dir, repo.root)
    assert store.stale_keyword_rows() == 0
    store.close()


def test_an_index_from_before_the_keyword_count_rebuilds_its_keyword_table_once(repo, data_dir, run_index):
    _seed(repo)
    run_index(repo.root)
    store = _store(data_dir, repo.root)  # made to look like an index written before migration 3
    live = store.count("chunks")
    with store.transaction():
        store.conn.execute("DELETE FROM meta WHERE key = 'keyword_stale_rows'")
    store.conn.execute("PRAGMA user_version = 2")
    store.close()
    store = _store(data_dir, repo.root)
    assert store.stale_keyword_rows() == live > 0  # taken to hold a whole table of deleted rows
    store.close()
    assert run_index(repo.root).files_changed == 0
    store = _store(data_dir, repo.root)
    assert store.stale_keyword_rows() == 0
    store.close()
    store = _store(data_dir, repo.root)  # a count that is not a number counts as the whole table
    with store.transaction():
        store.set_meta("keyword_stale_rows", "garbage")
    assert store.stale_keyword_rows() == live
    store.close()
    assert run_index(repo.root).files_changed == 0
    store = _store(data_dir, repo.root)
    assert store.stale_keyword_rows() == 0
    store.close()

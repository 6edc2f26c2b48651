"""Unit tests of the server's parts that need no connection: settings, HEAD watching, the guard hook."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fixtures_code import SECRET_VALUE
from lsp_support import make_workspace
from scripted_backend import ScriptedBackend

from copilot_index.indexer import set_trusted
from copilot_index.indexer.repo import resolve_repo
from copilot_index.server.completion.engine import CompletionEngine
from copilot_index.server.completion.request import CompletionRequest
from copilot_index.server.lsp.background import head_signature
from copilot_index.server.lsp.factory import create_server
from copilot_index.server.lsp.workspace import Located, OutsideWorkspaceError, Project, Projects
from copilot_index.server.settings import Settings


def test_settings_precedence_and_fallbacks(tmp_path: Path):
    (tmp_path / ".copilot-index.toml").write_text(
        '[completion]\nmax_tokens = 12\nmodel = "from-file"\n[lsp]\nindex_debounce_ms = 900\n')
    set_trusted(tmp_path)
    settings = Settings.build(
        tmp_path,
        ("initializationOptions", {"completion": {"model": "from-init", "max_block_tokens": -4}, "eval": {"x": 1}}),
        ("workspace/configuration", {"completion": {"model": "from-client"}, "lsp": "not a table"}),
    )
    assert settings.completion.model == "from-client"
    assert settings.completion.max_tokens == 12 and settings.lsp.index_debounce_ms == 900
    assert settings.completion.max_block_tokens == 96  # the bad value fell back to its default
    assert any("completion.max_block_tokens = -4" in w for w in settings.warnings)
    assert any("lsp must be a table" in w for w in settings.warnings)
    assert len(settings.warnings) == 2  # an unknown section is not judged

    (tmp_path / ".copilot-index.toml").write_text("[completion\n")
    broken = Settings.build(tmp_path, ("initializationOptions", ["not", "an", "object"]))
    # (the session's user config names the shipped model: tests/conftest.py)
    assert broken.completion.model == "copilot-index-default" and len(broken.warnings) == 2


def test_head_signature_follows_commits_and_branch_switches(tmp_path: Path):
    ws = make_workspace("unit", tmp_path / "repo")
    git_dir = tmp_path / "repo" / ".git"
    first = head_signature(git_dir)
    ws.git("checkout", "-q", "-b", "other")
    assert head_signature(git_dir) != first
    ws.write("more.py", "x = 1\n")
    ws.git("add", "-A")
    ws.git("commit", "-q", "-m", "more")
    moved = head_signature(git_dir)
    ws.git("pack-refs", "--all")  # loose refs gone: the packed one is read
    assert head_signature(git_dir) == moved
    ws.git("checkout", "-q", "--detach", "HEAD~1")
    assert head_signature(git_dir) == ws.git("rev-parse", "HEAD")  # detached: HEAD holds the commit itself


def test_only_files_inside_the_workspace_folders_are_located(tmp_path: Path):
    ws = make_workspace("unit", tmp_path / "repo")
    projects = Projects()
    projects.open([ws.root / "net"], lambda root: Settings())
    assert projects.locate(ws.uri("net/http.py")).relative == "net/http.py"
    for uri in (ws.uri("geometry.py"), "file:///etc/passwd", "http://example.com/x.py", ws.uri("net/../../x.py")):
        with pytest.raises(OutsideWorkspaceError):
            projects.locate(uri)


@pytest.mark.parametrize(("completion", "blocked"), [
    (f'"{SECRET_VALUE}"', True),
    ("subprocess.call(user_input, shell=True)", True),
    ("radius * radius", False),
])
def test_the_engine_guards_what_the_server_sends(tmp_path: Path, completion: str, blocked: bool):
    ws = make_workspace("unit", tmp_path / "repo")
    project = Project.open(resolve_repo(ws.root), Settings())
    project.engine = CompletionEngine(project.index, backend=ScriptedBackend(completion))  # the configured guards
    server = create_server()
    document = "import subprocess\n\n\ndef run(user_input):\n    key = \n"
    request = CompletionRequest("app/run.py", document, 4, 10)
    result = server.suggestions._generate(Located(project, ws.root / "app/run.py", "app/run.py"), request,
                                          threading.Event())
    assert result is not None
    assert (result.completion == "") is blocked
    assert {d["guard"] for d in result.guard} == {"secrets", "security", "license"}
    assert server.suggestions.stats.blocked == int(blocked)
    assert project.index.data_dir.audit_log.is_file()

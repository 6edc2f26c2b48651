"""`copilot-index check` on real git repositories: staged diff, files, --all, --json, declared and learned conventions."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from conftest import GitRepo

from copilot_index.conventions.checks import ConventionChecker, ConventionsConfig, mine, staged_changes
from copilot_index.conventions.checks.changes import parse_diff
from copilot_index.server.cli import main

SNAKE_MODULE = "\n\n".join(f"def compute_value_{i}(x):\n    return x + {i}\n" for i in range(25))


def check(repo: GitRepo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["--data-dir", str(repo.root.parent / "data"), "check", "--repo", str(repo.root), *args])
    return code, [line for line in capsys.readouterr().out.splitlines() if line]


@pytest.fixture
def base(repo: GitRepo) -> GitRepo:
    repo.write("pkg/core.py", SNAKE_MODULE)
    repo.commit("base")
    return repo


def test_staged_secret_is_reported_in_compiler_style(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write("pkg/settings.py", 'DEBUG = False\nAWS_ACCESS_KEY_ID = "AKIAQX7PLM2VN4HB9TZW"\n')
    base.git("add", "-A")
    code, lines = check(base, capsys)
    assert code == 1
    assert any(line.startswith("pkg/settings.py:2:1: CIX100 possible secret (AWS Access Key") for line in lines)


def test_a_key_block_is_one_finding(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """A private key's lines are one finding naming the lines it spans (gin's test key gave 25 before); a secret on
    the next line is a finding of its own."""
    body = "\n".join(base64.b64encode(secrets.token_bytes(48)).decode() for _ in range(6))
    base.write("deploy/key.pem", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n")
    base.write("deploy/app.env", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
                                 f"API_KEY={secrets.token_urlsafe(24)}\n")
    base.git("add", "-A")
    code, lines = check(base, capsys)
    assert code == 1
    assert [line for line in lines if "CIX100" in line] == [
        "deploy/app.env:2:1: CIX100 possible secret (Private Key, lines 2-7); keep it out of the repository",
        "deploy/app.env:9:1: CIX100 possible secret (Secret Keyword); keep it out of the repository",
        "deploy/key.pem:2:1: CIX100 possible secret (Private Key, lines 2-7); keep it out of the repository"]


def test_only_added_lines_count(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write("pkg/legacy.py", "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n")
    base.commit("legacy code")
    base.write("pkg/legacy.py",
               "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n\n\ndef size(p):\n    return os.path.getsize(p)\n")
    base.git("add", "-A")
    assert check(base, capsys) == (0, [])
    base.write("pkg/legacy.py", "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    base.git("add", "-A")
    code, lines = check(base, capsys)
    assert code == 1
    assert lines == ["pkg/legacy.py:5:5: B602 subprocess call with shell=True identified, security issue. (CWE-78)"]


def test_insecure_code_in_other_languages_and_json(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write("web/app.js", "function run(req) {\n  return eval(req.body.code);\n}\n")
    base.write("svc/db.go",
               'package svc\n\nfunc q(db *sql.DB, n string) {\n\tdb.Query("SELECT * FROM t WHERE n = \'" + n + "\'")\n}\n')
    code, lines = check(base, capsys, "--json", str(base.root / "web/app.js"), str(base.root / "svc/db.go"))
    report = json.loads(lines[0])
    assert code == 1 and report["files_checked"] == 2
    found = {(v["path"], v["line"], v["code"]) for v in report["violations"]}
    assert found == {("web/app.js", 2, "JS001"), ("svc/db.go", 4, "GO002")}


def test_clean_change_passes(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write("pkg/extra.py", "def add_numbers(a, b):\n    return a + b\n")
    base.git("add", "-A")
    assert check(base, capsys) == (0, [])


def test_declared_conventions(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write(".copilot-index.toml", '[conventions]\nrequired_license_header = "MIT"\nbanned_imports = ["pickle"]\n'
               'banned_apis = ["os.system"]\nlearned = false\n[conventions.naming.python]\nclass = "^[A-Z][A-Za-z0-9]*$"\n')
    base.commit("config")
    base.write("pkg/new.py", "import pickle\nimport os\n\n\nclass bad_name:\n    pass\n\n\nos.system('ls')\n")
    base.git("add", "-A")
    code, lines = check(base, capsys)
    codes = {line.split(": ", 1)[1].split(" ", 1)[0] for line in lines}
    assert code == 1 and codes >= {"CIX301", "CIX401", "CIX402", "CIX403"}
    assert any(line.startswith("pkg/new.py:5:7: CIX403 class name bad_name") for line in lines)


def test_learned_naming_convention_reports_the_statistic(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write("pkg/extra.py", "def computeTotal(items):\n    return sum(items)\n")
    base.git("add", "-A")
    code, lines = check(base, capsys)
    assert code == 1
    assert lines == ["pkg/extra.py:1:5: CIX501 function name computeTotal is not snake_case; 100% of 25 python "
                     "function names in this repository are (learned convention)"]
    assert (base.root.parent / "data" / "conventions.json").is_file()  # cached per HEAD commit
    assert check(base, capsys, "--no-learned") == (0, [])


def test_learned_licence_header(repo: GitRepo, tmp_path: Path) -> None:
    for i in range(12):
        repo.write(f"src/m{i}.py", f"# SPDX-License-Identifier: Apache-2.0\nVALUE = {i}\n")
    repo.commit("base")
    learned = mine(repo.root, [f"src/m{i}.py" for i in range(12)])
    assert learned.header_convention(0.9, 20) == ("Apache-2.0", 1.0, 12)
    repo.write("src/new.py", "VALUE = 99\n")
    repo.git("add", "-A")
    violations = ConventionChecker(repo.root, ConventionsConfig(), learned=learned).check(staged_changes(repo.root))
    assert [(v.code, v.line) for v in violations] == [("CIX502", 1)]
    assert "100% of 12 source files" in violations[0].message


def test_foreign_licence_header_against_the_project_licence(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("LICENSE", "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n")
    repo.commit("licence")
    repo.write("lib/gpl.c", "/* SPDX-License-Identifier: GPL-2.0-only */\nint x;\n")
    repo.git("add", "-A")
    code, lines = check(repo, capsys, "--no-learned")
    assert code == 1 and lines == ["lib/gpl.c:1:1: CIX300 licence header GPL-2.0-only differs from the project's MIT"]


def test_bad_input_gets_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    assert main(["check", "--repo", str(folder)]) == 2
    assert "not a git repository" in capsys.readouterr().err


def test_parse_diff_reads_added_lines() -> None:
    diff = ("diff --git a/x.py b/x.py\nnew file mode 100644\n--- /dev/null\n+++ b/x.py\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\n"
            "diff --git a/y.py b/y.py\n--- a/y.py\n+++ b/y.py\n@@ -2 +2 @@\n-x\n+y\n@@ -9,2 +9,0 @@\n-z\n-w\n")
    assert parse_diff(diff) == {"x.py": ({1, 2, 3}, True), "y.py": ({2}, False)}


def test_an_ignore_comment_exempts_its_line(base: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    base.write("pkg/tool.py", "import subprocess\n\n\ndef run(cmd):\n"
               "    subprocess.call(cmd, shell=True)  # copilot-index: ignore[B602]\n"
               "    subprocess.call(cmd, shell=True)  # copilot-index: ignore[CIX100]\n")
    base.git("add", "-A")
    code, lines = check(base, capsys)
    assert code == 1 and [line.split(": ")[0] for line in lines] == ["pkg/tool.py:6:5"]

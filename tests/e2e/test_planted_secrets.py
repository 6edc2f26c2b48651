"""Planted secrets of every kind: 0 bytes in anything the product writes or prints.

One fresh value of every kind of secret the redactor must catch is planted in a real git repository; the
real `copilot-index` command line indexes, searches, reports status, checks and completes over it with `-vv`;
then every byte it wrote (the data directory: index.db and its WAL, audit.jsonl, caches; the user's config
and cache folders; new files in the shared embedder cache) and printed (stdout, stderr) is searched for each
value, its base64, its lower-case form and each long alphanumeric run of it (what the keyword index would
keep), and a JWT's signature alone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GitRepo

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).parent / "copilot-index")
ALPHABET = string.ascii_letters + string.digits
CONTEXT_FILES = ("app/services.py", "app/client.py", ".env", "scripts/deploy.sh")
"""Files whose text goes into the completion request (so the request itself carries the values)."""


def fresh(n: int = 24, extra: str = "") -> str:
    """A value no run has seen: high entropy, lower and upper case and digits."""
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(n))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value + extra


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def plant(repo: GitRepo) -> tuple[dict[str, str], dict[str, list[int]]]:
    """Write the planted files; return {kind: value} and {tracked path: planted line numbers}."""
    v: dict[str, str] = {
        "dotenv API_KEY": fresh(32), "dotenv DB_PASSWORD": fresh(18, "!%"), "dotenv AUTH_TOKEN": fresh(40),
        "Dockerfile ENV KEY=value": fresh(28), "Dockerfile ENV KEY value": fresh(24),
        "XML value=": fresh(30), "XML password=": fresh(16, "#"), "MSSQL Password=": fresh(20),
        "ODBC PWD=": fresh(14, "@"), "redis://:pw@": fresh(24), "postgres://user:pw@": fresh(22),
        "Azure AccountKey=": base64.b64encode(secrets.token_bytes(64)).decode(),
        "Basic auth password": fresh(20), "Bearer token": fresh(48),
        "comment password": fresh(16, "$"), "comment token": fresh(36),
        "ini aws_secret_access_key": fresh(40), "credentials aws_secret_access_key": fresh(40),
        "GitHub token": "ghp_" + fresh(36), "B105 password string": fresh(18),
        "B106 password argument": fresh(18), "B107 password default": fresh(18),
    }
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": fresh(12), "name": "Ada", "iat": 1700000000}).encode())
    v["JWT"] = f"{header}.{payload}.{b64url(secrets.token_bytes(32))}"
    v["JWT signature"] = v["JWT"].rsplit(".", 1)[1]
    v["Basic auth header"] = base64.b64encode(f"deploy:{v['Basic auth password']}".encode()).decode()
    files = {
        "Dockerfile": ["FROM python:3.11-slim", f"ENV APP_SECRET={v['Dockerfile ENV KEY=value']}",
                       f"ENV DATABASE_PASSWORD {v['Dockerfile ENV KEY value']}", 'CMD ["python", "-m", "app"]'],
        "web.config": ['<?xml version="1.0"?>', "<configuration>",
                       f'  <add key="PaymentApiKey" value="{v["XML value="]}" />',
                       '  <add name="Main" connectionString="Server=tcp:sql.internal,1433;Database=app;User Id=sa;'
                       f'Password={v["MSSQL Password="]};" />',
                       f'  <smtp host="mail.internal" password="{v["XML password="]}" />', "</configuration>"],
        "src/Db.cs": ["namespace App;", "", "public static class Db", "{",
                      '    public const string Odbc = "Driver={ODBC Driver 18 for SQL Server};Server=sql.internal;'
                      f'UID=app;PWD={v["ODBC PWD="]};";', "}"],
        "config/settings.yaml": ["cache:", f"  url: redis://:{v['redis://:pw@']}@cache.internal:6379/0"],
        "app/services.py": ['"""Service endpoints."""', "",
                            f'DATABASE_URL = "postgres://app:{v["postgres://user:pw@"]}@db.internal:5432/app"',
                            'STORAGE = "DefaultEndpointsProtocol=https;AccountName=acme;'
                            f'AccountKey={v["Azure AccountKey="]};EndpointSuffix=core.windows.net"',
                            f'GITHUB = "{v["GitHub token"]}"', f'ADMIN_PASSWORD = "{v["B105 password string"]}"', "",
                            "", f'def connect(db, url=DATABASE_URL, password="{v["B107 password default"]}"):',
                            f'    return db.login(url, password="{v["B106 password argument"]}")'],
        "scripts/deploy.sh": ["#!/bin/sh", f'curl -H "Authorization: Basic {v["Basic auth header"]}" https://deploy.internal',
                              f'curl -H "Authorization: Bearer {v["Bearer token"]}" https://deploy.internal'],
        "app/client.py": ['"""Client."""', "", f"# temporary admin password: {v['comment password']}",
                          f"# token {v['comment token']} (rotate me)", "", "", "def login(user):", "    return user"],
        "deploy/aws.ini": ["[default]", f"aws_secret_access_key = {v['ini aws_secret_access_key']}", "region = eu-west-1"],
        "deploy/credentials": ["[prod]", f"aws_secret_access_key={v['credentials aws_secret_access_key']}"],
        "tests/fixtures/auth.json": ["{", f'  "id_token": "{v["JWT"]}",', '  "user": "ada"', "}"],
    }
    planted: dict[str, list[int]] = {}
    values = [x for k, x in v.items() if k not in ("JWT signature", "Basic auth password")]
    for rel, lines in files.items():
        repo.write(rel, "\n".join(lines) + "\n")
        planted[rel] = [n for n, line in enumerate(lines, 1) if any(x in line for x in values)]
    repo.commit("planted")
    # The user's own untracked .env (not ignored, so it is indexed too).
    repo.write(".env", "\n".join(["# local settings", f"API_KEY={v['dotenv API_KEY']}",
                                  f"DB_PASSWORD={v['dotenv DB_PASSWORD']}", f"AUTH_TOKEN={v['dotenv AUTH_TOKEN']}",
                                  "DEBUG=true"]) + "\n")
    return v, planted


def needles(values: dict[str, str]) -> dict[bytes, str]:
    """Byte strings that would show a value: as is, lower-cased, base64, and each 8+ character alphanumeric run."""
    found: dict[bytes, str] = {}
    for kind, value in values.items():
        for form in (value, value.lower(), base64.b64encode(value.encode()).decode(), *value.split(".")):
            found[form.encode()] = kind
        for run in re.findall(r"[A-Za-z0-9]{8,}", value):
            found[run.lower().encode()] = kind
    return found


def snapshot(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}


def test_planted_secrets_leave_no_byte_in_anything_the_product_writes_or_prints(repo: GitRepo, tmp_path: Path) -> None:
    values, planted = plant(repo)
    home, data, config = tmp_path / "home", tmp_path / "data", tmp_path / "config"
    shared_cache = Path(os.environ.get("COPILOT_INDEX_CACHE") or Path.home() / ".cache" / "copilot-index")
    before = snapshot(shared_cache)
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "COPILOT_INDEX_HOME": str(data),
           "COPILOT_INDEX_CONFIG_HOME": str(config), "COPILOT_INDEX_CACHE": str(shared_cache), "HF_HUB_OFFLINE": "1"}
    printed: list[tuple[str, bytes]] = []

    def cli(*args: str, stdin: str | None = None, ok: Callable[[int], bool] = lambda rc: rc == 0) -> str:
        run = subprocess.run([CLI, "-vv", *args], cwd=repo.root, env=env, input=stdin, capture_output=True, text=True,
                             timeout=300)
        printed.extend([(f"{args[0]} stdout", run.stdout.encode()), (f"{args[0]} stderr", run.stderr.encode())])
        assert ok(run.returncode), run.stderr[-2000:]
        return run.stdout

    summary = json.loads(cli("index", "--json"))
    assert summary["files_scanned"] == len(planted) + 1
    cli("search", "database password connection string", "--json")
    cli("search", "Authorization Basic curl deploy token secret key")
    status = json.loads(cli("status", "--json"))
    cli("status")
    findings = json.loads(cli("check", "--all", "--json", ok=lambda rc: rc == 1))
    cli("check", "--all", ok=lambda rc: rc == 1)
    context = "\n".join((repo.root / p).read_text() for p in CONTEXT_FILES)
    document = context + "\n\ndef fetch(db):\n    password = "
    lines = document.split("\n")
    requests = [{"path": "app/new.py", "text": document, "line": len(lines) - 1, "character": len(lines[-1])},
                {"path": ".env.local", "text": "API_KEY=", "line": 0, "character": 8}]
    answers = [json.loads(line) for line in cli("complete", "--json", "-", stdin="\n".join(map(json.dumps, requests)))
               .splitlines()]
    assert len(answers) == 2 and all("completion" in a for a in answers)
    report = tmp_path / "eval.html"
    cli("eval", "--samples", "4", "--report", str(report), "--json")
    assert report.is_file()

    # The product did its job: every planted line of a tracked file is a finding, and values were redacted.
    flagged = {(f["path"], f["line"]) for f in findings["violations"]}
    missed = [(path, n) for path, numbers in planted.items() for n in numbers if (path, n) not in flagged]
    assert not missed, f"check gave no finding on {missed}"
    assert status["secrets_redacted"] >= sum(map(len, planted.values())) + 3  # and the .env's three

    # The search below would see a leak: every kind shows in the repository's own bytes.
    sources = [p.read_bytes() for p in repo.root.rglob("*") if p.is_file() and ".git" not in p.parts]
    shown = {kind for needle, kind in needles(values).items() if any(needle in blob for blob in sources)}
    assert shown == set(values) - {"Basic auth password"}  # that one is planted base64-encoded only

    written = [p for p in (*data.rglob("*"), *config.rglob("*"), *home.rglob("*")) if p.is_file()] + [report]
    written += [p for p, mtime in snapshot(shared_cache).items() if before.get(p) != mtime]
    assert any(p.name == "index.db" for p in written) and any(p.name == "audit.jsonl" for p in written)
    blobs = printed + [(str(p), p.read_bytes()) for p in written]
    leaks = sorted({(kind, where) for where, blob in blobs for needle, kind in needles(values).items()
                    if needle in blob.lower() or needle in blob})
    assert not leaks, f"{len(leaks)} leaks: {leaks}"


async def test_planted_secrets_leave_nothing_in_the_language_servers_traffic_or_log(repo: GitRepo, tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch):
    """The same planted repository opened in the language server with `-vv`: every message it sent, its log file
    and its data directory hold none of the values, while the client sent them in open buffers."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server" / "lsp"))
    from lsp_support import RawConnection, command_params

    values, _ = plant(repo)
    data = tmp_path / "data"
    monkeypatch.setenv("COPILOT_INDEX_HOME", str(data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    log_file = tmp_path / "server.log"
    conn = await RawConnection.start(log_file, "-vv")
    try:
        root = repo.root.as_uri()
        init = await conn.request(1, "initialize", {"processId": None, "rootUri": root, "capabilities": {},
                                                    "workspaceFolders": [{"uri": root, "name": "repo"}]})
        assert "result" in init
        conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        for _ in range(600):
            status = await conn.request(f"s{_}", "workspace/executeCommand", command_params("copilotIndex.status"))
            if status["result"]["indexing"]["runs"] >= 1 and not status["result"]["indexing"]["running"]:
                break
            await asyncio.sleep(0.2)
        context = "\n".join((repo.root / p).read_text() for p in CONTEXT_FILES)
        document = context + "\n\ndef fetch(db):\n    password = "
        for number, (path, text) in enumerate([("app/new.py", document), (".env", (repo.root / ".env").read_text())]):
            conn.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": (repo.root / path).as_uri(), "languageId": "python", "version": 1, "text": text}}})
            lines = text.split("\n")
            answer = await conn.request(f"c{number}", "textDocument/inlineCompletion", {
                "textDocument": {"uri": (repo.root / path).as_uri()},
                "position": {"line": len(lines) - 1, "character": len(lines[-1])}, "context": {"triggerKind": 2}})
            assert "result" in answer, answer
            await conn.request(f"src{number}", "workspace/executeCommand",
                               command_params("copilotIndex.suggestionSources", (repo.root / path).as_uri()))
        await conn.request("sym", "workspace/symbol", {"query": "password"})
        await conn.request("q", "workspace/executeCommand",
                           command_params("copilotIndex.search", {"query": "database password connection string"}))
    finally:
        await conn.close()
    traffic = json.dumps([conn.responses, conn.notifications]).encode()
    written = [p for p in data.rglob("*") if p.is_file()]
    blobs = [("traffic", traffic), ("log", log_file.read_bytes())] + [(str(p), p.read_bytes()) for p in written]
    assert any(p.name == "index.db" for p in written) and len(log_file.read_bytes()) > 1000
    leaks = sorted({(kind, where) for where, blob in blobs for needle, kind in needles(values).items()
                    if needle in blob.lower() or needle in blob})
    assert not leaks, f"{len(leaks)} leaks: {leaks}"

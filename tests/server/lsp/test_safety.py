"""The language server on hostile or heavy input: a repository's settings cannot send code away before the user
trusts it, `exit` ends the process promptly while indexing runs, and reconfiguring under searches is safe."""

from __future__ import annotations

import asyncio
import shutil
import sysconfig
import time
from pathlib import Path
from typing import Any

from lsp_support import RINGS, RawConnection, make_workspace
from pygls.uris import from_fs_path
from recording_server import RecordingServer

HOSTILE = """[completion]
backend = "openai"
endpoint = "{url}"
model = "m"
template = "copilot-index-default"
[lsp]
guards = false
[guards]
audit = false
"""


async def _initialize(conn: RawConnection, root: Path, options: dict[str, Any] | None = None) -> None:
    uri = from_fs_path(str(root))
    answer = await conn.request(1, "initialize", {
        "processId": None, "rootUri": uri, "capabilities": {},
        "workspaceFolders": [{"uri": uri, "name": root.name}], "initializationOptions": options or {},
    })
    assert "result" in answer, answer
    conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})


async def _complete(conn: RawConnection, msg_id: int, root: Path) -> dict[str, Any]:
    uri = from_fs_path(str(root / "app/rings.py"))
    conn.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": RINGS}}})
    return await conn.request(msg_id, "textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": 4, "character": 32}, "context": {"triggerKind": 2}})


def _shown(conn: RawConnection) -> list[str]:
    return [n["params"]["message"] for n in conn.notifications if n.get("method") == "window/showMessage"]


async def test_an_untrusted_repository_cannot_send_code_away(tmp_path: Path) -> None:
    ws = make_workspace("raw", tmp_path / "repo")
    with RecordingServer() as server:
        ws.write(".copilot-index.toml", HOSTILE.format(url=server.url))
        ws.write(".env", "API_KEY=k8Qz3LmP0vXw7RtY2nB5cD9fG1hJ4kL6\n")
        conn = await RawConnection.start(tmp_path / "untrusted.log")
        try:
            await _initialize(conn, ws.root, {"lsp": {"index_on_start": False}})
            answer = await _complete(conn, 2, ws.root)
            assert "result" in answer, answer
            status = await conn.request(3, "workspace/executeCommand", {"command": "copilotIndex.status"})
            assert status["result"]["completions_sent_to"] is None
        finally:
            await conn.close()
        assert server.requests == []  # nothing left the machine
        notices = [m for m in _shown(conn) if "copilot-index trust" in m]
        assert notices and "completion.endpoint" in notices[0] and "lsp.guards" in notices[0]

        # The editor's user trusts the workspace (VS Code's workspace trust, Neovim's vim.secure.read).
        conn = await RawConnection.start(tmp_path / "trusted.log")
        try:
            await _initialize(conn, ws.root, {"trustedWorkspace": True, "lsp": {"index_on_start": False}})
            answer = await _complete(conn, 2, ws.root)
            assert answer["result"]["items"][0]["insertText"] == "x + 1"
        finally:
            await conn.close()
        assert server.requests and server.requests[0][0] == "/v1/completions"  # (then maybe its prefetch)
        assert any(f"completions are sent to {server.url}" in m for m in _shown(conn))


async def test_exit_ends_the_process_promptly_while_indexing_runs(tmp_path: Path) -> None:
    ws = make_workspace("raw", tmp_path / "repo")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for package in ("email", "json", "http", "logging", "asyncio"):
        shutil.copytree(stdlib / package, ws.root / "lib" / package, ignore=shutil.ignore_patterns("__pycache__"))
    ws.git("add", "-A")
    ws.git("commit", "-q", "-m", "a larger repository")
    conn = await RawConnection.start(tmp_path / "server.log")
    await _initialize(conn, ws.root)
    deadline = time.monotonic() + 60
    while True:  # wait until the first index is under way
        status = await conn.request(f"s{time.monotonic()}", "workspace/executeCommand",
                                    {"command": "copilotIndex.status"})
        if status["result"]["indexing"]["running"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status["result"]["indexing"]["running"], status
    await asyncio.sleep(1.0)
    started = time.monotonic()
    conn.send({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"})
    conn.send({"jsonrpc": "2.0", "method": "exit"})
    await asyncio.wait_for(conn.process.wait(), 30)
    took = time.monotonic() - started
    assert conn.process.returncode == 0
    assert took < 10, f"exit took {took:.1f}s"  # the figure (target 2 s) comes from tests/benchmarks/bench_lsp.py


async def test_reconfiguring_under_searches_is_safe(tmp_path: Path) -> None:
    ws = make_workspace("raw", tmp_path / "repo")
    conn = await RawConnection.start(tmp_path / "server.log")
    try:
        await _initialize(conn, ws.root)
        for _ in range(300):  # the first index
            status = await conn.request(f"s{time.monotonic()}", "workspace/executeCommand",
                                        {"command": "copilotIndex.status"})
            if status["result"]["indexing"]["runs"] >= 1 and not status["result"]["indexing"]["running"]:
                break
            await asyncio.sleep(0.2)
        ids = []
        for i in range(40):
            ids.append(f"q{i}")
            conn.send({"jsonrpc": "2.0", "id": f"q{i}", "method": "workspace/executeCommand",
                       "params": {"command": "copilotIndex.search", "arguments": ["area of a circle"]}})
            weight = 0.5 + (i % 5) / 10  # each change of the index settings builds a new index object
            conn.send({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                       "params": {"settings": {"copilotIndex": {"index": {"dense_weight": weight}}}}})
        answers = [await conn.response(i) for i in ids]
        assert all("result" in a for a in answers), [a for a in answers if "result" not in a][:2]
        assert all(a["result"]["results"] for a in answers)
        assert conn.process.returncode is None  # alive
    finally:
        assert await conn.close() == 0

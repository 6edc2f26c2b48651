"""Helpers for the language-server tests: a real git repository, real client capabilities, waits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixtures_code import GEOMETRY, HTTP
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient, client_capabilities

SERVER_COMMAND = [sys.executable, "-m", "copilot_index.server.lsp", "-v"]
CLIENTS = ("visual_studio_code", "neovim")

RINGS = "from geometry import circle_area\n\n\ndef ring_area(outer, inner):\n    return circle_area(outer) - "


@dataclass
class Workspace:
    """A temporary git repository opened by one kind of client."""

    client_name: str
    root: Path

    def uri(self, relative: str) -> str:
        return from_fs_path(str(self.root / relative)) or ""

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True)
        return done.stdout.strip()


def make_workspace(client_name: str, root: Path) -> Workspace:
    """A committed repository with geometry and HTTP helpers, and a file that uses them."""
    root.mkdir(parents=True)
    ws = Workspace(client_name, root)
    ws.git("init", "-q", "-b", "main")
    ws.git("config", "user.email", "test@example.com")
    ws.git("config", "user.name", "Test")
    ws.git("config", "commit.gpgsign", "false")
    ws.write("geometry.py", GEOMETRY)
    ws.write("net/http.py", HTTP)
    ws.write("app/rings.py", RINGS + "circle_area(inner)\n")
    ws.git("add", "-A")
    ws.git("commit", "-q", "-m", "code")
    return ws


def accept_registrations(client: LanguageClient) -> list[types.Registration]:
    """Answer `client/registerCapability` as an editor does, keeping what was registered."""
    registered: list[types.Registration] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        registered.extend(params.registrations)

    return registered


def initialize_params(client_name: str, root: Path | None, options: dict[str, Any]) -> types.InitializeParams:
    folders = [types.WorkspaceFolder(uri=from_fs_path(str(root)) or "", name=root.name)] if root else None
    return types.InitializeParams(
        capabilities=client_capabilities(client_name),
        root_uri=folders[0].uri if folders else None,
        workspace_folders=folders,
        initialization_options=options,
    )


def open_document(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))
    )


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
    )


def command_params(name: str, *arguments: Any) -> dict[str, Any]:
    """`workspace/executeCommand` params, for a raw connection."""
    return {"command": name, "arguments": list(arguments)}


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def wait_for_index(client: LanguageClient, runs: int = 1, timeout: float = 120.0) -> dict[str, Any]:
    """Poll `copilotIndex.status` until at least `runs` index runs have finished and none is running."""
    deadline = time.monotonic() + timeout
    while True:
        status = await command(client, "copilotIndex.status")
        indexing = status["indexing"]
        if indexing["runs"] >= runs and not indexing["running"]:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"indexing did not finish in {timeout}s: {status}")
        await asyncio.sleep(0.2)


class RawConnection:
    """The server process on a bare stdio pipe: any bytes can be sent, every message read back."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.responses: dict[Any, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, log_file: Path | None, *extra_args: str) -> RawConnection:
        """The server logging to `log_file`, or (None) to its stderr, which `process.stderr` then reads."""
        process = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND, *extra_args, *(["--log-file", str(log_file)] if log_file else []),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL if log_file else asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read(self) -> None:
        import json

        assert self.process.stdout is not None
        while True:
            length = None
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                elif line in (b"\r\n", b"\n") and length is not None:
                    break
            message = json.loads(await self.process.stdout.readexactly(length))
            if "id" in message and "method" not in message:
                self.responses[message["id"]] = message
            else:
                self.notifications.append(message)
            self._arrived.set()

    def send_bytes(self, body: bytes, extra_headers: bytes = b"") -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n%s\r\n" % (len(body), extra_headers) + body)

    def send(self, message: dict[str, Any]) -> None:
        import json

        self.send_bytes(json.dumps(message).encode())

    async def response(self, msg_id: Any, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while msg_id not in self.responses:
            if time.monotonic() > deadline:
                raise AssertionError(f"no response to request {msg_id!r} in {timeout}s")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), 1.0)
            except TimeoutError:
                pass
        return self.responses[msg_id]

    async def request(self, msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        assert self.process.stdin is not None
        await self.process.stdin.drain()
        return await self.response(msg_id)

    async def close(self) -> int:
        if self.process.returncode is None:
            self.send({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"})
            self.send({"jsonrpc": "2.0", "method": "exit"})
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await asyncio.wait([self._reader], timeout=5)  # what the server wrote before it exited
        self._reader.cancel()
        return self.process.returncode or 0

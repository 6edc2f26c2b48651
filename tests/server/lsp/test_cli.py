"""`copilot-lsp --tcp HOST:PORT --log-file FILE`: the protocol on a socket, the log in the file, stdout silent."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path

from lsp_support import SERVER_COMMAND


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_tcp_mode_with_a_log_file(tmp_path: Path):
    port, log_file = _free_port(), tmp_path / "logs" / "lsp.log"
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, "--tcp", f"127.0.0.1:{port}", "--log-file", str(log_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                           "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}).encode()
        writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        length = 0
        while (line := await asyncio.wait_for(reader.readline(), 60)) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        answer = json.loads(await reader.readexactly(length))
        assert answer["id"] == 1 and "inlineCompletionProvider" in answer["result"]["capabilities"]
        writer.close()
    finally:
        process.terminate()
        stdout, stderr = await process.communicate()
    assert stdout == b""  # stdout belongs to the protocol, and in TCP mode there is none
    assert "listening on 127.0.0.1" in log_file.read_text()
    assert b"Traceback" not in stderr


def test_bad_tcp_address_is_one_sentence():
    import subprocess

    done = subprocess.run([*SERVER_COMMAND, "--tcp", "nowhere"], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "--tcp wants HOST:PORT" in done.stderr and done.stdout == ""


async def test_over_stdio_each_record_reaches_the_editor_once(tmp_path: Path):
    """An editor shows the server's stderr and its window/logMessage side by side: the product's records go to
    the client only, while other libraries' records (never forwarded) stay on stderr."""
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None

    def send(message: dict[str, object]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[union-attr]

    async def read() -> dict[str, object]:
        """The next message; {} once the server has closed its stdout."""
        length = 0
        while (line := await asyncio.wait_for(process.stdout.readline(), 120)) not in (b"\r\n", b""):  # type: ignore[union-attr]
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return dict(json.loads(await process.stdout.readexactly(length))) if length else {}  # type: ignore[union-attr]

    logged: list[str] = []
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    try:
        send({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": tmp_path.as_uri(),
                                                           "capabilities": {}}})
        send({"method": "initialized", "params": {}})
        # a changed setting is logged at INFO
        send({"method": "workspace/didChangeConfiguration",
              "params": {"settings": {"copilotIndex": {"completion": {"max_tokens": 7}}}}})
        send({"id": 2, "method": "workspace/executeCommand", "params": {"command": "copilotIndex.status"}})
        send({"id": 3, "method": "shutdown"})
        while (message := await read()) and message.get("id") != 3:
            if message.get("method") == "window/logMessage":
                logged.append(message["params"]["message"])  # type: ignore[index]
        send({"method": "exit"})
        while message := await read():  # to the end: a record may still be on its way
            if message.get("method") == "window/logMessage":
                logged.append(message["params"]["message"])  # type: ignore[index]
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
    assert logged, f"the server sent the client no log message; its stderr: {stderr.decode()}"
    text = stderr.decode()
    assert not [m for m in logged if m.split(": ", 1)[1] in text], text

"""`copilot-lsp --tcp HOST:PORT --log-file FILE`: the protocol on a socket, the log in the file, stdout silent."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path

from lsp_support import SERVER_COMMAND, RawConnection


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
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    conn = await RawConnection.start(None)
    try:
        await conn.request(1, "initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        # a changed setting is logged at INFO
        conn.send({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                   "params": {"settings": {"copilotIndex": {"completion": {"max_tokens": 7}}}}})
        await conn.request(2, "workspace/executeCommand", {"command": "copilotIndex.status"})
    finally:
        await conn.close()
    assert conn.process.stderr is not None
    text = (await conn.process.stderr.read()).decode()
    logged = [n["params"]["message"] for n in conn.notifications if n.get("method") == "window/logMessage"]
    assert logged, f"the server sent the client no log message; its stderr: {text}"
    assert not [m for m in logged if m.split(": ", 1)[1] in text], text

"""An HTTP server on 127.0.0.1 that records every request it gets and answers like an OpenAI-compatible
`/v1/completions` endpoint: it stands where a hostile repository would send the user's code."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecordingServer:
    """`with RecordingServer() as server:` ... `server.url`, `server.requests` (path, parsed JSON body)."""

    def __init__(self, completion: str = "x + 1") -> None:
        self.completion = completion
        self.requests: list[tuple[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    parsed: Any = json.loads(body)
                except ValueError:
                    parsed = body
                recorder.requests.append((self.path, parsed))
                answer = json.dumps({"choices": [{"text": recorder.completion, "finish_reason": "stop"}],
                                     "usage": {"completion_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

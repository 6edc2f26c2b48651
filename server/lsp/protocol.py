"""The JSON-RPC protocol with the answers the LSP specification asks for where pygls stays silent.

- A request before `initialize` gets `ServerNotInitialized` (-32002); notifications then are dropped
  (except `exit`).
- A request whose params do not fit its method gets `InvalidParams` (-32602) instead of no answer at
  all (pygls drops such a message, leaving the client waiting).
- A request after `shutdown` gets `InvalidRequest` (-32600).
- An internal error is answered with its exception's type only: pygls would send the traceback (and the
  exception's text, which may quote the user's code) in `error.data`; both go to the log instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnreadableRequest:
    """A request whose params could not be structured; it is answered with an error, never dispatched."""

    id: int | str
    method: str
    reason: str


class CopilotProtocol(LanguageServerProtocol):
    """pygls' LanguageServerProtocol plus spec-conformant error answers for bad or early requests."""

    # pygls keeps both states in private members and offers no public accessor for them.

    @property
    def initialized(self) -> bool:
        """True once `initialize` has been handled (the workspace exists from then on)."""
        return self._workspace is not None

    @property
    def shutdown_requested(self) -> bool:
        """True once `shutdown` has been answered."""
        return self._shutdown

    def _send_response(self, msg_id: Any, result: Any = None, error: ResponseError | None = None) -> None:
        # pygls has no public hook to shape error responses; every response passes through here.
        if error is not None and error.code == JsonRpcInternalError.CODE:
            log.error("request %r failed: %s\n%s", msg_id, error.message, "".join((error.data or {}).get("traceback", [])))
            kind = error.message.split(":", 1)[0].strip() or "error"
            error = ResponseError(code=error.code, message=f"The server failed on this request ({kind}); see its log.")
        super()._send_response(msg_id, result=result, error=error)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException:
            msg_id, method = data.get("id"), data.get("method")
            if "jsonrpc" in data and isinstance(method, str) and isinstance(msg_id, int | str) and _valid_id(msg_id):
                reason = f"The params of {method} do not match the LSP specification."
                log.warning("%s (request %r)", reason, msg_id)
                return UnreadableRequest(msg_id, method, reason)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, UnreadableRequest):
            self._send_response(message.id, error=JsonRpcInvalidParams(message.reason).to_response_error())
            return
        method = getattr(message, "method", None)
        is_request = getattr(message, "id", None) is not None and method is not None
        if not self.initialized and method not in (types.INITIALIZE, types.EXIT):
            if is_request and _valid_id(message.id):
                error = JsonRpcServerNotInitialized(f"{method} was sent before initialize; send initialize first.")
                self._send_response(message.id, error=error.to_response_error())
            elif method is not None:
                log.info("ignoring %s sent before initialize", method)
            return
        if self._shutdown and is_request and method != types.EXIT and _valid_id(message.id):
            late = JsonRpcInvalidRequest(f"{method} was sent after shutdown; only exit is accepted now.")
            self._send_response(message.id, error=late.to_response_error())
            return
        super().handle_message(message)


def _valid_id(msg_id: Any) -> bool:
    return isinstance(msg_id, str) or (isinstance(msg_id, int) and not isinstance(msg_id, bool))


REQUEST_FAILED = -32803
"""LSP's RequestFailed: the request was valid but could not be carried out (no index yet, ...)."""


def request_failed(message: str) -> JsonRpcException:
    """An error response for a well-formed request the server could not carry out, in one sentence."""
    return JsonRpcException(message, code=REQUEST_FAILED)

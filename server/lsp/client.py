"""What the language server's services may ask of the client: notifications, a message shown once, and
progress. Services see this small protocol, never the server class, so they can be built and tested alone
and the package has no import circles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from lsprotocol import types

if TYPE_CHECKING:
    from .progress import ProgressReporter


class Client(Protocol):
    """The connected client, usable from any thread."""

    @property
    def connected(self) -> bool:
        """True while the connection's event loop runs."""
        ...

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (from any thread)."""
        ...

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show `message` with `window/showMessage`, once per session."""
        ...

    def progress_reporter(self, title: str, *, cancellable: bool = False) -> ProgressReporter:
        """A `$/progress` reporter for one piece of long work (silent when the client has no progress UI)."""
        ...

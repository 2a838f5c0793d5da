"""``ConnectionStore``: whether the place this window works on answers — the pages read it
to enable their actions (``ui/widgets/connection_gate.py``).

On this computer the workspace is always there: ``online`` stays True (a shared event
feed that drops only delays live updates; the actions still reach the database). Through
a server, the server's event stream tells: while it is live the server answers; while it
reconnects (the server stopped, the network dropped) actions would only fail, so
``online`` is False and ``reason`` says why. When the stream is back, ``online`` comes back
on its own (and the stores reload what they missed through the stream's resync). Before
the stream's first answer (it opens after sign-in, "connecting") the server counts as
there: it has just answered the health check and the sign-in.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from ..events.protocol import BusState
from .event_bridge import EventBridge

CONNECTING = "connecting"  # the server's event stream before its first answer


class ConnectionStore(QObject):
    """Signals:
    sig_changed(): ``online`` or ``reason`` changed.
    """

    sig_changed = Signal()

    def __init__(self, bridge: EventBridge, *, server: str = "",
                 reason: Callable[[], str] | None = None,
                 parent: QObject | None = None) -> None:
        """``server``: the server's URL ("" for this computer); ``reason``: why the
        server's event stream is not live (the bus knows)."""
        super().__init__(parent)
        self.server = server
        self._reason_of = reason or (lambda: "")
        self.online = True
        self.reason = ""
        bridge.sig_bus_state_changed.connect(self._on_state)
        self._on_state(str(bridge.state))

    @property
    def offline_message(self) -> str:
        """What a disabled action says while the server cannot be reached ("" online)."""
        if self.online:
            return ""
        why = f" ({self.reason})" if self.reason else ""
        return (f"The server at {self.server} cannot be reached{why} — actions come back "
                "when it does")

    def _on_state(self, state: str) -> None:
        if not self.server:
            return  # this computer's workspace: always there
        why = self._reason_of()
        online = state == BusState.CONNECTED.value or (
            state == BusState.RECONNECTING.value and why == CONNECTING)
        reason = "" if online else (why or state)
        if (online, reason) != (self.online, self.reason):
            self.online, self.reason = online, reason
            self.sig_changed.emit()

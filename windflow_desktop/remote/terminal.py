"""``RemoteTerminal``: the terminal service as a desktop signed in to a WindFlow server
sees it — not there yet.

A shell through a server needs a two-way stream between the desktop and the server
(a WebSocket route relaying the engine's exec), which the server does not offer yet; so
``available`` is False (the Containers page shows no "Open terminal…") and ``open``
says so instead of failing somewhere deeper.
"""

from __future__ import annotations

import uuid

from ..domain.errors import WindFlowError
from ..domain.identity import Principal
from ..domain.terminal import TerminalSession
from .client import ServerSession

NOT_AVAILABLE = "TERMINAL_NOT_AVAILABLE"


class RemoteTerminal:
    available = False

    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def open(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   shell: str = "sh", *, cols: int = 80, rows: int = 24) -> TerminalSession:
        raise WindFlowError(
            "a terminal into a container is not available through a WindFlow server yet: "
            "open it from a desktop with a local workspace", code=NOT_AVAILABLE)

"""``TerminalStore``: interactive shells in containers for the window's terminals.

``open(target_id, container_id, shell, cols, rows)`` gives a ``Terminal`` (a QObject the
terminal widget binds to) and runs its I/O as one store action (``terminal:<n>``): the
session is opened through the terminal service, a writer sends the keystrokes in order,
and the output goes out as ``sig_output`` in slices of at most ``FEED_BYTES`` with the
loop let go between them, so a flood never holds the Qt thread long (the session is read
only as fast as it is shown: the engine waits, memory does not grow). Signing out or
switching organization ends every terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.errors import WindFlowError
from ..domain.events import Event
from ..domain.identity import Principal
from ..domain.permissions import CONTAINERS_EXEC, PermissionChecker
from ..domain.terminal import TerminalSession
from ..services.protocols import TerminalApi
from .base import OrganizationStore
from .session import SessionStore

FEED_BYTES = 8192  # the most output handed to the widget (and its emulator) at once
SHELLS = ("sh", "bash")


class Terminal(QObject):
    """One shell in a container.

    Signals:
    sig_opened(): the shell runs (the service opened and audited it).
    sig_output(bytes): output of the shell, in order.
    sig_ended(object): the shell ended: its exit code (int) or None (unknown, failed to
        open — ``error`` says why — or closed from here).
    """

    sig_opened = Signal()
    sig_output = Signal(bytes)
    sig_ended = Signal(object)

    def __init__(self, store: TerminalStore, key: int, target_id: uuid.UUID,
                 container_id: str, shell: str) -> None:
        super().__init__()  # no parent: it goes when the store and the window let it go
        self._store = store
        self.key = key
        self.target_id = target_id
        self.container_id = container_id
        self.shell = shell
        self.state = "opening"  # → "open" → "ended"
        self.opened_at: float | None = None
        self.exit_code: int | None = None
        self.error: str | None = None  # why it could not open or went wrong (for people)
        self._input: asyncio.Queue[bytes | tuple[int, int]] = asyncio.Queue()

    @property
    def running(self) -> bool:
        return self.state != "ended"

    def write(self, data: bytes) -> None:
        """Keystrokes (or pasted text) for the shell; sent in order."""
        if data and self.running:
            self._input.put_nowait(data)

    def resize(self, cols: int, rows: int) -> None:
        if self.running:
            self._input.put_nowait((cols, rows))

    def close(self) -> None:
        """End the shell (idempotent)."""
        self._store.close(self)


class TerminalStore(OrganizationStore):
    """Signals (besides those of ``Store``): none of its own; each ``Terminal`` has its
    own."""

    def __init__(self, service: TerminalApi, session: SessionStore,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._keys = itertools.count(1)
        self.terminals: dict[int, Terminal] = {}
        self._follow(session)

    @property
    def can_exec(self) -> bool:
        """Whether the signed-in user may open a shell in a container (and shells can be
        opened in this mode)."""
        p = self._session.principal
        return (p is not None and self._service.available
                and PermissionChecker(p).has_permission(CONTAINERS_EXEC))

    def _switch(self, principal: Principal | None) -> None:
        # The running terminals' actions were cancelled (``cancel_all``): each ended.
        pass

    def apply_events(self, batch: Sequence[Event]) -> None:
        """Nothing here follows the bus (a shell's output never travels on it)."""

    # -- actions ----------------------------------------------------------------------------

    def open(self, target_id: uuid.UUID, container_id: str, shell: str = "sh", *,
             cols: int = 80, rows: int = 24) -> Terminal:
        terminal = Terminal(self, next(self._keys), target_id, container_id, shell)
        self.terminals[terminal.key] = terminal

        async def go() -> None:
            session = await self._service.open(self._require(), target_id, container_id,
                                               shell, cols=cols, rows=rows)
            try:
                await self._attach(terminal, session)
            finally:
                with contextlib.suppress(Exception):
                    await session.close()
            terminal.exit_code = session.exit_code

        task = self.run(f"terminal:{terminal.key}", go)
        # Also when cancelled before it ran (closed at once, signed out).
        task.add_done_callback(lambda done: self._ended(terminal, done))
        return terminal

    def close(self, terminal: Terminal) -> None:
        task = self._actions.get(f"terminal:{terminal.key}")
        if task is not None:
            task.cancel()

    async def _attach(self, terminal: Terminal, session: TerminalSession) -> None:
        terminal.state = "open"
        terminal.opened_at = time.monotonic()
        if not self._closed:
            terminal.sig_opened.emit()
        writer = asyncio.ensure_future(self._pump_input(terminal, session))
        try:
            while chunk := await session.read():
                for start in range(0, len(chunk), FEED_BYTES):
                    if self._closed:
                        return
                    terminal.sig_output.emit(chunk[start:start + FEED_BYTES])
                    if start + FEED_BYTES < len(chunk):
                        await asyncio.sleep(0)  # a slice per loop pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    @staticmethod
    async def _pump_input(terminal: Terminal, session: TerminalSession) -> None:
        queue = terminal._input
        while True:
            items = [await queue.get()]
            while not queue.empty():  # what queued up meanwhile, in order
                items.append(queue.get_nowait())
            keys: list[bytes] = []
            for item in items:
                if isinstance(item, bytes):
                    keys.append(item)  # neighbouring keystrokes go out as one write
                    continue
                if keys:
                    await session.write(b"".join(keys))
                    keys = []
                await _resize(session, *item)
            if keys:
                await session.write(b"".join(keys))

    def _ended(self, terminal: Terminal, task: asyncio.Task[Any]) -> None:
        if terminal.state == "ended":
            return
        error = self.error_of(task)
        terminal.error = error[1] if error else None
        terminal.state = "ended"
        self.terminals.pop(terminal.key, None)
        if not self._closed:
            terminal.sig_ended.emit(terminal.exit_code)


async def _resize(session: TerminalSession, cols: int, rows: int) -> None:
    with contextlib.suppress(WindFlowError):  # a shell ending meanwhile has no size
        await session.resize(cols, rows)

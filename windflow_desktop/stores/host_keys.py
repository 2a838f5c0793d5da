"""``HostKeyQuestions``: the question "trust this new SSH host key?" of any connection —
a connection test, a scan, a health round or a deployment — asked by the engine's pool
(``ExecutorPool(confirm_host_key=questions.ask)``, given at construction) and answered by
whichever window shows it.

``ask`` emits ``sig_asked(prompt, future)`` and waits (at most ``wait_s``) for someone to
answer with ``future.set_result(bool)``; no answer means no.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, Signal

from ..domain.models import HostKeyPrompt

HOST_KEY_WAIT_S = 300.0


class HostKeyQuestions(QObject):
    """Signals: sig_asked(object, object): a ``HostKeyPrompt`` and the future to answer."""

    sig_asked = Signal(object, object)

    def __init__(self, wait_s: float = HOST_KEY_WAIT_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.wait_s = wait_s

    async def ask(self, prompt: HostKeyPrompt) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.sig_asked.emit(prompt, future)
        try:
            return await asyncio.wait_for(future, self.wait_s)
        except TimeoutError:
            return False

"""``SupervisedTask``: a bus's background task that comes back when it dies.

A bus runs its reading (and writing) in long-lived asyncio tasks. If one ends while the
bus is open — a bug, an exception nobody expected, someone cancelling it — live updates
would stop in silence. The supervisor notices (a done callback), says so (``on_down``:
the bus shows a "stalled" state), and starts a fresh task after a backoff delay
(``on_restarted``). The backoff grows with each quick death and starts over once a task
has lived ``stable_after_s``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("windflow.bus")

TaskFactory = Callable[[], Coroutine[Any, Any, None]]


def backoff_delay(attempt: int, base: float, ceiling: float) -> float:
    """``base * 2**attempt`` capped at ``ceiling``, with "equal jitter" (half fixed, half
    random) so clients that failed together do not retry together."""
    top: float = min(ceiling, base * 2.0 ** min(attempt, 30))
    return top / 2 + random.uniform(0, top / 2)


class SupervisedTask:
    """One named task, restarted with ``backoff(attempt)`` seconds of delay after it dies.

    ``halt()`` stops supervising (the owner then cancels and awaits the task itself);
    ``down`` is True from a death until the restart.
    """

    def __init__(
        self,
        name: str,
        run: TaskFactory,
        *,
        backoff: Callable[[int], float],
        on_down: Callable[[], None],
        on_restarted: Callable[[], None],
        stable_after_s: float = 60.0,
    ) -> None:
        self.name = name
        self._run = run
        self._backoff = backoff
        self._on_down = on_down
        self._on_restarted = on_restarted
        self._stable_after_s = stable_after_s
        self._task: asyncio.Task[None] | None = None
        self._restart: asyncio.TimerHandle | None = None
        self._started_at = 0.0
        self._attempt = 0
        self._halted = False
        self.down = False
        self.restart_count = 0

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> asyncio.Task[None]:
        self._halted = False
        return self._spawn()

    def halt(self) -> asyncio.Task[None] | None:
        """Stop restarting; returns the running task (if any) for the owner to stop."""
        self._halted = True
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        return self._task if self._task is not None and not self._task.done() else None

    def _spawn(self) -> asyncio.Task[None]:
        loop = asyncio.get_running_loop()
        task = self._task = loop.create_task(self._run(), name=self.name)
        self._started_at = time.monotonic()
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._halted or task is not self._task:
            return
        error = None if task.cancelled() else task.exception()
        if time.monotonic() - self._started_at >= self._stable_after_s:
            self._attempt = 0
        delay = self._backoff(self._attempt)
        self._attempt += 1
        how = "was cancelled" if task.cancelled() else "failed" if error else "returned"
        # A failure is a bug to look at; a cancel came from someone else's code.
        log.log(logging.WARNING if task.cancelled() else logging.ERROR,
                "bus task %s %s; restarting it in %.2f s", self.name, how, delay,
                exc_info=error)
        self.down = True
        self._on_down()
        self._restart = task.get_loop().call_later(delay, self._come_back)

    def _come_back(self) -> None:
        self._restart = None
        if self._halted:
            return
        self.restart_count += 1
        self._spawn()
        self.down = False
        log.info("bus task %s restarted (%d restarts so far)", self.name, self.restart_count)
        self._on_restarted()

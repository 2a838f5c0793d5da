"""``HealthMonitor``: runs a health round periodically, never two at once.

The round itself (which targets, what to check, what to write) is the target service's
``check_health``; the monitor only keeps time: ``start()``, ``stop()``, ``set_interval()``
and ``run_now()``; ``close()`` stops it for good (its owner is shut down: a later
``start()`` does nothing). A failing round is logged and the next one runs on schedule; a round
that takes longer than the interval delays the next one instead of piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("windflow.services.health_loop")


class HealthMonitor:
    def __init__(
        self,
        check_round: Callable[[], Awaitable[Any]],
        *,
        interval_s: float = 30.0,
        name: str = "health",
    ) -> None:
        if interval_s <= 0:
            raise ValueError("the health interval must be positive")
        self._check_round = check_round
        self.interval_s = interval_s
        self.name = name
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self.rounds = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start checking (the first round runs at once); idempotent; nothing once closed."""
        if not self.running and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name=f"HealthMonitor.{self.name}"
            )

    def set_interval(self, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("the health interval must be positive")
        self.interval_s = interval_s
        self._wake.set()

    def run_now(self) -> None:
        """Run a round now instead of waiting for the interval."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop and wait for the running round to be cancelled; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """Stop for good: the owner is shut down, and what still finishes there (a load
        that says "the fleet is known") must not start the loop again — it would run on
        after the database it reads is closed."""
        self._closed = True
        await self.stop()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._check_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("health round failed", exc_info=True)
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

"""The database's time, for the processes that share it (a server and its workers on
several machines): heartbeats, stale runners, session expiry and purges must not depend
on each machine's own clock. ``sync()`` reads the database's time; between reads, this
machine's clock runs on from there (the offset is what is kept)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ..domain.models import utcnow
from ..repositories.protocols import Backend


class DatabaseClock:
    def __init__(self, backend: Backend, local: Callable[[], datetime] = utcnow) -> None:
        self._backend = backend
        self._local = local
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._local() + self.offset

    async def sync(self) -> timedelta:
        """Read the database's time; returns the offset from this machine's clock."""
        before, local = time.monotonic(), self._local()
        database = await self._backend.database_time()
        half_trip = timedelta(seconds=(time.monotonic() - before) / 2)
        self.offset = database - (local + half_trip)
        return self.offset

"""A server's time comes from its database (SQLite and PostgreSQL): a machine whose own
clock is an hour off still stamps what it does with the database's time."""

from __future__ import annotations

from datetime import timedelta

from windflow_desktop.domain.models import utcnow
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.database_clock import DatabaseClock


async def test_an_hour_off_machine_keeps_the_databases_time(backend: SqlBackend) -> None:
    def wrong() -> object:
        return utcnow() - timedelta(hours=1)

    clock = DatabaseClock(backend, local=wrong)  # type: ignore[arg-type]
    assert abs(clock() - utcnow()) > timedelta(minutes=59)
    offset = await clock.sync()
    assert abs(offset - timedelta(hours=1)) < timedelta(seconds=2)
    assert abs(clock() - utcnow()) < timedelta(seconds=2)
    assert clock().tzinfo is not None

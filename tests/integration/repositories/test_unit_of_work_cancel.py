"""A unit of work cancelled while its commit gives the connection back to the pool: the
commit runs to its end, the connection goes back whole (not invalidated, nothing logged
as an error), and the cancellation is raised after it. Before, the pool's rollback-on-
return was cut short: "Exception during reset or similar", the connection discarded —
at every sign-out or quit that cancelled a store's load."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import event

from windflow_desktop.repositories.sql.backend import SqlBackend


async def test_cancelled_while_the_commit_returns_the_connection(
    sqlite_backend: SqlBackend, caplog: pytest.LogCaptureFixture
) -> None:
    backend = sqlite_backend
    engine = backend.engine.sync_engine
    committing = False
    went_on = False
    resets: list[bool] = []
    invalidated: list[Any] = []

    async def work() -> None:
        nonlocal committing, went_on
        async with backend.unit_of_work() as uow:
            await uow.workspace_meta.set("cancelled-commit", "kept")
            committing = True
            await uow.commit()
            went_on = True

    task = asyncio.create_task(work())

    def on_reset(_dbapi: Any, _record: Any, _state: Any) -> None:
        # The pool's reset runs as the committed connection goes back, just before its
        # rollback-on-return: the caller is cancelled right there, once.
        if committing and not resets:
            resets.append(True)
            task.cancel()

    event.listen(engine, "reset", on_reset)
    event.listen(engine, "invalidate", lambda *args: invalidated.append(args))
    caplog.set_level(logging.ERROR, logger="sqlalchemy.pool")
    try:
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        event.remove(engine, "reset", on_reset)
    assert resets, "the cancellation was not placed in the connection's return"
    assert not went_on
    assert invalidated == [], "the connection was discarded mid-return"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert backend.engine.pool.checkedout() == 0
    async with backend.unit_of_work() as uow:
        assert await uow.workspace_meta.get("cancelled-commit") == "kept"

"""Store actions: latest wins, expected errors become a signal, shutdown cancels."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication

from windflow_desktop.domain.errors import NotFoundError
from windflow_desktop.stores.base import Store


async def test_a_new_run_cancels_the_previous_one(qapp: QApplication) -> None:
    store = Store()
    started, finished = [], []

    async def load(n: int) -> int:
        started.append(n)
        await asyncio.sleep(0.05)
        finished.append(n)
        return n

    first = store.run("load", lambda: load(1))
    await asyncio.sleep(0)
    second = store.run("load", lambda: load(2))
    assert await second == 2
    assert first.cancelled()
    assert finished == [2]
    assert not store.busy
    await store.shutdown()


async def test_expected_errors_become_sig_error(qapp: QApplication) -> None:
    store = Store()
    errors: list[tuple[str, str]] = []
    busy: list[bool] = []
    store.sig_error.connect(lambda code, msg: errors.append((code, msg)))
    store.sig_busy_changed.connect(busy.append)

    async def fail() -> None:
        raise NotFoundError("stack", "s1")

    assert await store.run("get", fail) is None
    await asyncio.sleep(0)
    assert errors == [("NOT_FOUND", "stack s1 was not found")]
    assert busy == [True, False]
    await store.shutdown()


async def test_shutdown_cancels_running_actions_and_is_idempotent(qapp: QApplication) -> None:
    store = Store()
    task = store.run("forever", lambda: asyncio.sleep(3600))
    await store.shutdown()
    await store.shutdown()
    assert task.cancelled()

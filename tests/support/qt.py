"""Helpers shared by the tests (a test imports no other test module nor a conftest),
cut out of ``tests/gui/conftest.py``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.support.auth import Services
from windflow_desktop.stores.session import SessionStore
from windflow_desktop.stores.users import UsersStore

T = TypeVar("T")

Runner = Callable[[Awaitable[T]], T]


def _spin_until(app: QApplication, done: Callable[[], bool], timeout_s: float = 5.0) -> float:
    """Process Qt (and so qasync) events until ``done()``; the seconds it took."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not done after {timeout_s} s")
        app.processEvents()
        time.sleep(0.001)  # let executor threads (aiosqlite, argon2) hand back results
    return time.monotonic() - started


@contextmanager
def qasync_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A running asyncio loop driven by Qt events (``processEvents``), closed on exit
    with every task it still has cancelled."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        try:
            _spin_until(qapp, lambda: all(t.done() for t in pending), 10.0)
        finally:
            # Whatever happened, this loop is closed before the next test makes its own:
            # a loop left open keeps Qt timers and notifiers that call into it later,
            # from another test's events (a crash of the whole run, not one failure).
            loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
            qapp.aboutToQuit.disconnect(loop._after_run_forever)
            asyncio.events._set_running_loop(None)
            loop.close()
            asyncio.set_event_loop(None)


def runner(qapp: QApplication, loop: qasync.QEventLoop) -> Runner[Any]:
    """Run a coroutine (or wait for a task) on ``loop`` from synchronous code."""

    def run(coro: Awaitable[T], timeout_s: float = 30.0) -> T:
        task = asyncio.ensure_future(coro, loop=loop)  # a store action is a task already
        _spin_until(qapp, task.done, timeout_s)
        return task.result()

    return run


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """The running asyncio loop of this test, driven by Qt events."""
    with qasync_loop(qapp) as loop:
        yield loop


@pytest.fixture
def arun(qapp: QApplication, qloop: qasync.QEventLoop) -> Runner[Any]:
    """Run a coroutine (or wait for a task) on ``qloop`` from synchronous test code."""
    return runner(qapp, qloop)


@dataclass
class Workspace:
    """Real services over a SQLite file, with the stores the screens bind to."""

    services: Services
    session: SessionStore
    users: UsersStore
    run: Runner[Any]

    def new_session_store(self) -> SessionStore:
        return SessionStore(self.services.auth)

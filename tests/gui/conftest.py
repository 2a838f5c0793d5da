"""GUI test fixtures: an asyncio loop that runs on the Qt event loop (qasync), and a
real workspace (SQLite file, services with fast Argon2, an in-memory keyring).

How the loop works in a test: ``qloop`` is a ``qasync.QEventLoop`` built with
``already_running=True`` and set as the running loop, so stores can start tasks from
ordinary (synchronous) test code and slots. Tasks advance whenever Qt processes events —
inside ``qtbot.waitUntil`` / ``qtbot.waitSignal`` or ``arun``. Tests stay synchronous:
an ``async def`` test would run its body as a task, and spinning Qt from inside it
(``waitUntil``) would step other tasks re-entrantly.

Teardown cancels the tasks still pending, lets them finish, and closes the loop without
``loop.stop()`` calling ``QApplication.exit()`` (pytest-qt has no qasync support).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.auth import build_services
from tests.support.qt import Runner, Workspace
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.stores.session import SessionStore
from windflow_desktop.stores.users import UsersStore


@pytest.fixture
def workspace(tmp_path: Path, arun: Runner[Any]) -> Iterator[Workspace]:
    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}")
    arun(backend.open())
    services = build_services(backend)
    session = SessionStore(services.auth)
    users = UsersStore(session, services.users, services.orgs)
    try:
        yield Workspace(services, session, users, arun)
    finally:
        arun(users.shutdown())
        arun(session.shutdown())
        arun(backend.close())

"""The whole app, as a user meets it: first run, the main window, a remembered session,
logging out and in again, and a quit that tears everything down."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from tests.support.app import dialog_of
from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import click, fill_first_run, type_into
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
from windflow_desktop.ui.dialogs.login import LoginDialog
from windflow_desktop.ui.views.settings import SettingsPage

WAIT_MS = 20_000
# The database threads alive before each app started (by the app's id).
_threads_before: dict[int, set[threading.Thread]] = {}


def _database_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


def start(home: Path, keyring: MemoryKeyring, qloop: Any) -> tuple[WindFlowApp, asyncio.Task[int]]:
    settings = load_settings({"WINDFLOW_HOME": str(home)})
    app = WindFlowApp(settings, started=time.monotonic(), secrets=SecretStore(keyring))
    _threads_before[id(app)] = _database_threads()
    return app, qloop.create_task(app.run())


def stop(qtbot: QtBot, app: WindFlowApp, task: asyncio.Task[int]) -> None:
    app.quit_requested.set()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.result() == 0
    # Nothing of the app works on once it stopped: no task of it still runs (a loop that
    # ran past the database's close returned connections to the disposed pool, which the
    # garbage collector found unclosed later), and every connection it opened was closed
    # (a connection left to the collector keeps its aiosqlite thread until then).
    loop = task.get_loop()
    left = _database_threads() - _threads_before.pop(id(app))

    def nothing_runs() -> None:
        running = [t.get_name() for t in asyncio.all_tasks(loop) if not t.done()]
        assert not running, f"tasks run on after the app stopped: {running}"
        alive = [t.name for t in left if t.is_alive()]
        assert not alive, f"database connections left open: {alive}"

    qtbot.waitUntil(nothing_runs, timeout=5_000)


def test_first_run_then_remembered_session_then_logout(
    qtbot: QtBot, qloop: Any, tmp_path: Path
) -> None:
    keyring = MemoryKeyring()
    app, task = start(tmp_path, keyring, qloop)
    qtbot.waitUntil(lambda: dialog_of(FirstRunDialog) is not None, timeout=WAIT_MS)
    first_run = dialog_of(FirstRunDialog)
    fill_first_run(qtbot, first_run)
    click(qtbot, first_run.remember)
    click(qtbot, first_run.submit_button)
    qtbot.waitUntil(lambda: app.session.signed_in, timeout=WAIT_MS)
    assert app.window is not None and app.window.isVisible()
    assert app.window.workspace_label.text() == f"Workspace: {tmp_path / 'workspace.db'}"
    assert app.window.bus_label.text() == "● Live (this computer)"
    assert isinstance(app.window.page("settings"), SettingsPage)
    # The app's GC policy runs from the open workspace on, and ends with the app.
    assert app.gc_policy.active and gc.get_threshold()[2] > 1_000_000
    assert gc.get_freeze_count() > 0
    stop(qtbot, app, task)
    assert not app.gc_policy.active and gc.get_freeze_count() == 0
    assert keyring.names(), "remember me put the refresh token in the keyring"

    # Second start: the remembered session skips the dialogs.
    app, task = start(tmp_path, keyring, qloop)
    qtbot.waitUntil(lambda: app.session is not None and app.session.signed_in, timeout=WAIT_MS)
    assert dialog_of(LoginDialog) is None and dialog_of(FirstRunDialog) is None
    assert app.session.user.username == "alice"

    # Log out: the login dialog comes back; signing in again returns to the window.
    app.session.logout()
    qtbot.waitUntil(lambda: dialog_of(LoginDialog) is not None, timeout=WAIT_MS)
    login = dialog_of(LoginDialog)
    type_into(qtbot, login.login, "alice@example.test")
    type_into(qtbot, login.password, PASSWORD)
    click(qtbot, login.submit_button)
    qtbot.waitUntil(lambda: app.session.signed_in, timeout=WAIT_MS)
    stop(qtbot, app, task)


def test_closing_the_login_dialog_quits(qtbot: QtBot, qloop: Any, tmp_path: Path) -> None:
    app, task = start(tmp_path, MemoryKeyring(), qloop)
    qtbot.waitUntil(lambda: dialog_of(FirstRunDialog) is not None, timeout=WAIT_MS)
    dialog_of(FirstRunDialog).reject()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.result() == 0
    assert app.workspace.backend is not None


def test_a_session_ended_elsewhere_brings_back_the_sign_in(
    qtbot: QtBot, qloop: Any, tmp_path: Path
) -> None:
    app, task = start(tmp_path, MemoryKeyring(), qloop)
    qtbot.waitUntil(lambda: dialog_of(FirstRunDialog) is not None, timeout=WAIT_MS)
    first_run = dialog_of(FirstRunDialog)
    fill_first_run(qtbot, first_run)
    click(qtbot, first_run.submit_button)
    qtbot.waitUntil(lambda: app.session.signed_in, timeout=WAIT_MS)
    auth = app.workspace.services.auth

    async def change_password_elsewhere() -> None:
        other = await auth.login("alice", PASSWORD)
        await auth.change_password(other.principal, PASSWORD, "another password 42")

    changed = qloop.create_task(change_password_elsewhere())
    qtbot.waitUntil(changed.done, timeout=WAIT_MS)
    changed.result()
    users = app.stores.users
    users.load()  # the window's next call to the services
    qtbot.waitUntil(lambda: dialog_of(LoginDialog) is not None, timeout=WAIT_MS)
    assert not app.session.signed_in
    assert app.message_bar.code == "SESSION_ENDED" and "sign in again" in app.message_bar.text()
    login = dialog_of(LoginDialog)
    type_into(qtbot, login.login, "alice")
    type_into(qtbot, login.password, "another password 42")
    click(qtbot, login.submit_button)
    qtbot.waitUntil(lambda: app.session.signed_in, timeout=WAIT_MS)
    stop(qtbot, app, task)

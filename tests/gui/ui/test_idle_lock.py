"""The idle lock: with a tiny configured timeout, an idle window hides its pages behind
the unlock dialog; the right password unlocks it, "Sign out" signs out. A session ended
elsewhere signs the window's store out (the app then asks to sign in again)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.config import load_settings
from windflow_desktop.ui.idle_lock import IdleLock

WAIT_MS = 15_000


def signed_in_window(qtbot: QtBot, ws: Workspace) -> QMainWindow:
    ws.run(ws.services.auth.setup(username="alice", email="alice@example.test",
                                  password=PASSWORD, organization_name="Acme"))
    ws.run(ws.session.login("alice", PASSWORD))
    assert ws.session.signed_in
    window = QMainWindow()
    window.setCentralWidget(QLabel("the pages"))
    qtbot.addWidget(window)
    window.show()
    return window


def test_idle_window_locks_and_the_password_unlocks_it(
    qtbot: QtBot, workspace: Workspace
) -> None:
    window = signed_in_window(qtbot, workspace)
    lock = IdleLock(workspace.session, window, timeout_s=0.05)
    qtbot.waitUntil(lambda: lock.dialog is not None and lock.dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = lock.dialog
    assert dialog is not None
    assert not window.centralWidget().isVisible()  # nothing shows behind the lock
    dialog.password.setFocus()
    qtbot.keyClicks(dialog.password, "not the password")
    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message_bar.isVisible() and not dialog.busy,
                    timeout=WAIT_MS)
    assert lock.locked
    qtbot.keyClicks(dialog.password, PASSWORD)
    with qtbot.waitSignal(lock.sig_locked_changed, timeout=WAIT_MS) as unlocked:
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert unlocked.args == [False] and not lock.locked
    assert window.centralWidget().isVisible() and workspace.session.signed_in
    lock.shutdown()


def test_sign_out_from_the_lock(qtbot: QtBot, workspace: Workspace) -> None:
    window = signed_in_window(qtbot, workspace)
    left_open = QDialog(window)
    left_open.show()
    lock = IdleLock(workspace.session, window, timeout_s=0.05)
    qtbot.waitUntil(lambda: lock.locked, timeout=WAIT_MS)
    assert lock.dialog is not None
    with qtbot.waitSignal(workspace.session.sig_session_changed, timeout=WAIT_MS):
        qtbot.mouseClick(lock.dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not workspace.session.signed_in, timeout=WAIT_MS)
    assert not lock.locked
    assert not left_open.isVisible()  # the previous session's dialog is not shown again
    lock.shutdown()


def test_idle_lock_is_a_setting_of_eight_hours_by_default(tmp_path: object) -> None:
    home = str(tmp_path)
    assert load_settings({"WINDFLOW_HOME": home}).idle_lock_s == 8 * 3600
    assert load_settings({"WINDFLOW_HOME": home,
                          "WINDFLOW_IDLE_LOCK_S": "90"}).idle_lock_s == 90


def test_a_session_ended_elsewhere_signs_the_window_out(
    qtbot: QtBot, workspace: Workspace
) -> None:
    signed_in_window(qtbot, workspace)
    other = workspace.run(workspace.services.auth.login("alice", PASSWORD))
    workspace.run(workspace.services.auth.change_password(other.principal, PASSWORD,
                                                          "new password 123"))
    workspace.session.watch(workspace.users)  # as the app does for every store
    with qtbot.waitSignal(workspace.session.sig_session_ended, timeout=WAIT_MS) as ended:
        workspace.users.load()
    assert "sign in again" in ended.args[0]
    assert not workspace.session.signed_in


def test_lock_hides_the_windows_other_dialogs_too(qtbot: QtBot, workspace: Workspace) -> None:
    """A dialog left open over the window (a deploy dialog, a container's logs) is hidden
    while locked, not only the pages, and comes back on unlock; one closed before stays
    closed."""
    window = signed_in_window(qtbot, workspace)
    shown, closed = QDialog(window), QDialog(window)
    shown.setWindowTitle("container logs")
    shown.show()
    closed.show()
    closed.hide()
    lock = IdleLock(workspace.session, window, timeout_s=0.05)
    qtbot.waitUntil(lambda: lock.dialog is not None and lock.dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = lock.dialog
    assert dialog is not None
    assert not shown.isVisible() and not closed.isVisible()
    qtbot.keyClicks(dialog.password, PASSWORD)
    with qtbot.waitSignal(lock.sig_locked_changed, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert shown.isVisible() and not closed.isVisible()
    lock.shutdown()

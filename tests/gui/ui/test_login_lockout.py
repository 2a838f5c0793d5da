"""The sign-in dialog counts a lockout down: real services over a SQLite file lock the
account after five wrong passwords; the dialog's clock is a fake one the test moves on,
so nothing waits for 30 real seconds."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.ui.dialogs.login import LoginDialog, format_wait

WAIT_MS = 15_000


@dataclass
class FakeMonotonic:
    """A monotonic clock in seconds that moves only when told to."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def type_into(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.clear()
    qtbot.keyClicks(edit, text)


def attempt(qtbot: QtBot, dialog: LoginDialog, password: str) -> None:
    """Type and click "Sign in", then wait for the answer."""
    type_into(qtbot, dialog.login, "alice")
    type_into(qtbot, dialog.password, password)
    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)


def locked_dialog(qtbot: QtBot, ws: Workspace, clock: FakeMonotonic) -> LoginDialog:
    """A shown sign-in dialog right after the fifth wrong password."""
    ws.run(ws.services.auth.setup(username="alice", email="alice@example.test",
                                  password=PASSWORD, organization_name="Acme"))
    dialog = LoginDialog(ws.session, workspace="workspace.db", clock=clock)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    for n in range(1, 5):
        attempt(qtbot, dialog, f"wrong {n}")
        assert dialog.message_bar.text() == "Wrong username/email or password."
        assert dialog.submit_button.isEnabled() and not dialog.lockout_timer.isActive()
    attempt(qtbot, dialog, "wrong 5")
    return dialog


def test_lockout_counts_down_then_lets_the_user_try_again(
    qtbot: QtBot, workspace: Workspace
) -> None:
    clock = FakeMonotonic()
    dialog = locked_dialog(qtbot, workspace, clock)
    bar = dialog.message_bar
    assert bar.code == "LOGIN_LOCKED"
    assert bar.text() == "Too many failed attempts. Try again in 30 s."
    assert not dialog.submit_button.isEnabled() and dialog.submit_button.text() == "Sign in"
    assert dialog.lockout_timer.isActive() and dialog.lockout_timer.interval() == 1000
    assert dialog.login.isEnabled() and dialog.password.isEnabled()  # may type meanwhile

    clock.advance(3)
    dialog.update_lockout()  # what the timer does every second
    assert bar.text() == "Too many failed attempts. Try again in 27 s."
    assert not dialog.submit_button.isEnabled()
    assert dialog.submit_button.toolTip() == "Too many failed attempts. Try again in 27 s."

    # Enter (the default button) or a direct call does not get past the lockout.
    type_into(qtbot, dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    dialog.submit()
    assert dialog.isVisible() and not dialog.submit_button.isEnabled()
    assert not dialog.busy and not workspace.session.busy and not workspace.session.signed_in

    clock.advance(26.5)
    dialog.update_lockout()
    assert bar.text() == "Too many failed attempts. Try again in 1 s."
    assert not dialog.submit_button.isEnabled()

    clock.advance(0.5)
    dialog.update_lockout()
    assert bar.text() == "You can try again now." and bar.code != "LOGIN_LOCKED"
    assert dialog.submit_button.isEnabled() and dialog.submit_button.toolTip() == ""
    assert not dialog.lockout_timer.isActive()

    workspace.services.clock.advance(seconds=30)  # the service's lock ends too
    type_into(qtbot, dialog.password, PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)  # Enter signs in, not "Quit"
    assert workspace.session.signed_in and not dialog.lockout_timer.isActive()


def test_the_qt_timer_drives_the_countdown(qtbot: QtBot, workspace: Workspace) -> None:
    clock = FakeMonotonic()
    dialog = locked_dialog(qtbot, workspace, clock)
    clock.advance(10)
    qtbot.waitUntil(  # the next tick, at most a second away
        lambda: dialog.message_bar.text() == "Too many failed attempts. Try again in 20 s.",
        timeout=3000,
    )
    clock.advance(20)
    qtbot.waitUntil(dialog.submit_button.isEnabled, timeout=3000)
    assert dialog.message_bar.text() == "You can try again now."


def test_a_longer_lock_reads_in_minutes_and_a_new_failure_restarts_the_count(
    qtbot: QtBot, workspace: Workspace
) -> None:
    clock = FakeMonotonic()
    dialog = locked_dialog(qtbot, workspace, clock)
    # Each failure after the lock ends doubles it: 60 s, 120 s, then 240 s.
    for lock_s, shown in ((30, "1 min"), (60, "2 min"), (120, "4 min")):
        workspace.services.clock.advance(seconds=lock_s)
        clock.advance(lock_s)
        dialog.update_lockout()
        assert dialog.submit_button.isEnabled()
        attempt(qtbot, dialog, "still wrong")
        assert dialog.message_bar.text() == f"Too many failed attempts. Try again in {shown}."
        assert not dialog.submit_button.isEnabled() and dialog.lockout_timer.isActive()

    clock.advance(115)
    dialog.update_lockout()
    assert dialog.message_bar.text() == "Too many failed attempts. Try again in 2 min 5 s."


def test_a_dismissed_countdown_stays_dismissed_but_the_lock_holds(
    qtbot: QtBot, workspace: Workspace
) -> None:
    clock = FakeMonotonic()
    dialog = locked_dialog(qtbot, workspace, clock)
    dialog.message_bar.dismiss()
    clock.advance(1)
    dialog.update_lockout()
    assert not dialog.message_bar.shown and not dialog.submit_button.isEnabled()
    assert dialog.submit_button.toolTip() == "Too many failed attempts. Try again in 29 s."
    clock.advance(29)
    dialog.update_lockout()
    assert dialog.message_bar.text() == "You can try again now."
    assert dialog.submit_button.isEnabled()


def test_closing_the_dialog_stops_the_timer(qtbot: QtBot, workspace: Workspace) -> None:
    dialog = locked_dialog(qtbot, workspace, FakeMonotonic())
    assert dialog.lockout_timer.isActive()
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not dialog.lockout_timer.isActive() and not dialog.locked_out


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1 s"), (27, "27 s"), (59, "59 s"), (60, "1 min"), (61, "1 min 1 s"),
     (125, "2 min 5 s"), (900, "15 min")],
)
def test_format_wait(seconds: int, text: str) -> None:
    assert format_wait(seconds) == text

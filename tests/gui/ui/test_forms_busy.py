"""A form dialog never stays busy: the sign-in dialog clears "Signing in…" and can be
closed when its request is cancelled or fails unexpectedly, and an error of another
action of the same store is not taken for the dialog's own failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import WAIT_MS, open_dialog, set_up, sign_in
from tests.support.qt import Workspace
from windflow_desktop.domain.errors import ConflictError
from windflow_desktop.ui.dialogs.login import LoginDialog
from windflow_desktop.ui.widgets.forms import INTERRUPTED_MESSAGE
from windflow_desktop.ui.widgets.message_bar import as_sentence


def login_dialog(qtbot: QtBot, workspace: Workspace) -> LoginDialog:
    dialog = LoginDialog(workspace.session, workspace="workspace.db")
    open_dialog(qtbot, dialog)
    return dialog


def assert_closable_after_failure(qtbot: QtBot, dialog: LoginDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert dialog.submit_button.text() == "Sign in" and dialog.submit_button.isEnabled()
    assert dialog.message_bar.shown
    assert dialog.message_bar.text() == as_sentence(INTERRUPTED_MESSAGE)
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT_MS):
        dialog.cancel_button.click()
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_unexpected_error_clears_busy(
    qtbot: QtBot, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(workspace.services.auth, "login", broken)
    dialog = login_dialog(qtbot, workspace)
    sign_in(qtbot, dialog, "alice", PASSWORD)
    assert_closable_after_failure(qtbot, dialog)


def test_cancelled_request_clears_busy(
    qtbot: QtBot, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()

    async def hangs(*_a: Any, **_k: Any) -> Any:
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(workspace.services.auth, "login", hangs)
    dialog = login_dialog(qtbot, workspace)
    sign_in(qtbot, dialog, "alice", PASSWORD)
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    assert dialog.busy
    dialog.reject()  # refused while the request runs
    assert dialog.isVisible()
    workspace.session._actions["login"].cancel()
    assert_closable_after_failure(qtbot, dialog)


def test_error_of_another_action_is_not_the_dialogs(
    qtbot: QtBot, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up(workspace)
    real_login = workspace.services.auth.login
    gate = asyncio.Event()

    async def gated(*a: Any, **k: Any) -> Any:
        await gate.wait()
        return await real_login(*a, **k)

    monkeypatch.setattr(workspace.services.auth, "login", gated)
    dialog = login_dialog(qtbot, workspace)
    sign_in(qtbot, dialog, "alice", PASSWORD)

    async def other() -> None:
        raise ConflictError("some other thing is in the way")

    with qtbot.waitSignal(workspace.session.sig_error, timeout=WAIT_MS):
        workspace.session.run("other", other)
    assert dialog.busy
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        gate.set()
    assert workspace.session.signed_in
    assert not dialog.message_bar.shown

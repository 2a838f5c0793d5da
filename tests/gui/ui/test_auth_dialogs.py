"""The first-run, sign-in and change-password dialogs, driven as a user would: type, click,
then see the dialog accept (signed in, in the database) or the error in the dialog."""

from __future__ import annotations

from keyring.backends import fail
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import (
    WAIT_MS,
    click,
    fill_first_run,
    open_dialog,
    set_up,
    sign_in,
    type_into,
)
from tests.support.qt import Workspace
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.dialogs.change_password import ChangePasswordDialog
from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
from windflow_desktop.ui.dialogs.login import LoginDialog
from windflow_desktop.ui.widgets.message_bar import MessageBar, keyring_notice

# -- first run ---------------------------------------------------------------------------


def test_first_run_creates_the_owner_and_signs_in(qtbot: QtBot, workspace: Workspace) -> None:
    session = workspace.session
    dialog = FirstRunDialog(session)
    open_dialog(qtbot, dialog)
    fill_first_run(qtbot, dialog)
    click(qtbot, dialog.remember)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        click(qtbot, dialog.submit_button)
        assert dialog.busy and not dialog.submit_button.isEnabled()
        assert dialog.submit_button.text() == "Creating workspace…"
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert session.signed_in and session.user is not None
    assert session.user.username == "alice" and session.user.full_name == "Alice Martin"
    assert session.organization is not None and session.organization.name == "Acme Ops"
    assert workspace.run(workspace.services.auth.needs_setup()) is False
    assert dialog.password.text() == "" and dialog.confirm.text() == ""


def test_first_run_checks_fields_inline_before_sending(
    qtbot: QtBot, workspace: Workspace
) -> None:
    dialog = FirstRunDialog(workspace.session)
    open_dialog(qtbot, dialog)
    fill_first_run(qtbot, dialog, confirm="something else", email="not-an-email")
    click(qtbot, dialog.submit_button)
    assert not dialog.busy and dialog.isVisible()
    assert dialog.confirm_field.has_error
    assert dialog.confirm_field.error.text() == "The two passwords differ."
    assert dialog.email_field.has_error
    assert dialog.email_field.error.text() == "Enter an address like name@example.com."
    assert not dialog.username_field.has_error
    assert dialog.focusWidget() is dialog.email  # the first field in error
    assert workspace.run(workspace.services.auth.needs_setup()) is True

    type_into(qtbot, dialog.email, "alice@example.test")
    type_into(qtbot, dialog.confirm, PASSWORD)
    assert not dialog.email_field.has_error  # re-checked while typing once flagged
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        click(qtbot, dialog.submit_button)
    assert workspace.session.signed_in


def test_first_run_shows_a_service_error_in_the_dialog(
    qtbot: QtBot, workspace: Workspace
) -> None:
    set_up(workspace)  # someone set the workspace up meanwhile
    dialog = FirstRunDialog(workspace.session)
    open_dialog(qtbot, dialog)
    fill_first_run(qtbot, dialog)
    click(qtbot, dialog.submit_button)
    qtbot.waitUntil(lambda: dialog.message_bar.shown, timeout=WAIT_MS)
    assert dialog.message_bar.code == "CONFLICT"
    assert dialog.message_bar.text() == "This workspace is already set up: sign in instead."
    assert dialog.isVisible() and not dialog.busy and dialog.submit_button.isEnabled()
    assert not workspace.session.signed_in


# -- sign in -----------------------------------------------------------------------------


def test_login_wrong_password_then_right_one(qtbot: QtBot, workspace: Workspace) -> None:
    set_up(workspace)
    dialog = LoginDialog(workspace.session, workspace="workspace.db")
    open_dialog(qtbot, dialog)
    sign_in(qtbot, dialog, "alice", "not my password")
    assert dialog.busy and dialog.submit_button.text() == "Signing in…"
    assert not dialog.login.isEnabled()
    qtbot.waitUntil(lambda: dialog.message_bar.shown, timeout=WAIT_MS)
    assert dialog.message_bar.text() == "Wrong username/email or password."
    assert not dialog.busy and dialog.submit_button.text() == "Sign in"
    assert dialog.password.text() == "" and dialog.focusWidget() is dialog.password
    assert not workspace.session.signed_in

    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        sign_in(qtbot, dialog, "alice@example.test", PASSWORD)  # email works too
    assert workspace.session.signed_in
    assert workspace.session.organization is not None
    assert workspace.session.organization.name == "Acme"


def test_login_empty_fields_are_flagged_without_a_request(
    qtbot: QtBot, workspace: Workspace
) -> None:
    dialog = LoginDialog(workspace.session)
    open_dialog(qtbot, dialog)
    click(qtbot, dialog.submit_button)
    assert not dialog.busy and not workspace.session.busy
    assert dialog.login_field.error.text() == "Enter your username or email."
    assert dialog.password_field.error.text() == "Enter your password."


def test_login_lockout_says_how_long_to_wait(qtbot: QtBot, workspace: Workspace) -> None:
    set_up(workspace)
    now = [0.0]  # the dialog's monotonic clock (the countdown is in test_login_lockout.py)
    dialog = LoginDialog(workspace.session, clock=lambda: now[0])
    open_dialog(qtbot, dialog)
    for attempt in range(1, 6):
        sign_in(qtbot, dialog, "alice", f"wrong {attempt}")
        qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert dialog.message_bar.code == "LOGIN_LOCKED"
    assert dialog.message_bar.text() == "Too many failed attempts. Try again in 30 s."
    # Even the right password waits for the lock to end: "Sign in" is disabled till then.
    sign_in(qtbot, dialog, "alice", PASSWORD)
    assert not dialog.busy and not dialog.submit_button.isEnabled()
    assert not workspace.session.signed_in
    workspace.services.clock.advance(seconds=31)
    now[0] += 31
    dialog.update_lockout()  # the timer's next tick
    assert dialog.submit_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        sign_in(qtbot, dialog, "alice", PASSWORD)


def test_disabled_account_gets_the_generic_answer(qtbot: QtBot, workspace: Workspace) -> None:
    set_up(workspace)
    owner = workspace.run(workspace.services.auth.login("alice", PASSWORD)).principal
    bob = workspace.run(workspace.services.users.create_user(
        owner, username="bob", email="bob@example.test", password=PASSWORD))
    workspace.run(workspace.services.users.disable_user(owner, bob.user.id))
    dialog = LoginDialog(workspace.session)
    open_dialog(qtbot, dialog)
    sign_in(qtbot, dialog, "bob", PASSWORD)
    qtbot.waitUntil(lambda: dialog.message_bar.shown, timeout=WAIT_MS)
    # The right password of a disabled account must not confirm it: same as a wrong one.
    assert dialog.message_bar.code == "BAD_CREDENTIALS"
    assert "disabled" not in dialog.message_bar.text()


def test_remember_me_lets_the_next_start_skip_the_login(
    qtbot: QtBot, workspace: Workspace
) -> None:
    set_up(workspace)
    dialog = LoginDialog(workspace.session)
    open_dialog(qtbot, dialog)
    click(qtbot, dialog.remember)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        sign_in(qtbot, dialog, "alice", PASSWORD)

    # Next start: a new store over the same workspace and keyring restores the session.
    next_start = workspace.new_session_store()
    restored = workspace.run(next_start.restore_remembered())
    assert restored is not None and next_start.signed_in
    assert next_start.user is not None and next_start.user.username == "alice"
    workspace.run(next_start.shutdown())


def test_without_remember_me_the_next_start_asks_again(
    qtbot: QtBot, workspace: Workspace
) -> None:
    set_up(workspace)
    dialog = LoginDialog(workspace.session)
    open_dialog(qtbot, dialog)
    assert not dialog.remember.isChecked()
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        sign_in(qtbot, dialog, "alice", PASSWORD)
    next_start = workspace.new_session_store()
    assert workspace.run(next_start.restore_remembered()) is None
    assert not next_start.signed_in
    workspace.run(next_start.shutdown())


def test_no_keyring_signs_in_and_says_so(qtbot: QtBot, workspace: Workspace) -> None:
    set_up(workspace)
    workspace.run(workspace.services.auth.issuer())  # the signing key is already loaded
    workspace.services.auth.secrets = SecretStore(fail.Keyring())
    session = workspace.session
    bar = MessageBar()
    qtbot.addWidget(bar)
    session.sig_keyring_unavailable.connect(lambda message: keyring_notice(bar, message))
    dialog = LoginDialog(session)
    open_dialog(qtbot, dialog)
    click(qtbot, dialog.remember)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        sign_in(qtbot, dialog, "alice", PASSWORD)
    assert session.signed_in
    assert bar.shown and "cannot be remembered" in bar.text()
    assert [b.text() for b in bar.action_buttons()] == ["Continue without remembering"]
    click(qtbot, bar.action_buttons()[0])
    assert not bar.shown


# -- change password ---------------------------------------------------------------------


def test_change_password_wrong_current_then_done(qtbot: QtBot, workspace: Workspace) -> None:
    set_up(workspace)
    session = workspace.session
    workspace.run(session.login("alice", PASSWORD))
    dialog = ChangePasswordDialog(session)
    open_dialog(qtbot, dialog)
    type_into(qtbot, dialog.current, "not it at all")
    type_into(qtbot, dialog.new, "a brand new secret")
    type_into(qtbot, dialog.confirm, "a brand new secret")
    click(qtbot, dialog.submit_button)
    qtbot.waitUntil(lambda: dialog.message_bar.shown, timeout=WAIT_MS)
    assert dialog.message_bar.text() == "The current password is wrong."
    assert dialog.current.text() == "" and dialog.focusWidget() is dialog.current

    type_into(qtbot, dialog.current, PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        click(qtbot, dialog.submit_button)
    assert session.signed_in
    fresh = workspace.new_session_store()
    assert workspace.run(fresh.login("alice", "a brand new secret")) is not None
    workspace.run(fresh.shutdown())

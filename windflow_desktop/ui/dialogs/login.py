"""``LoginDialog``: sign in with username or email and password; "remember me" keeps
the session in the system keyring so the next start skips this dialog.

After too many failed attempts the service refuses sign-in for a while; the dialog then
counts the wait down once a second and keeps "Sign in" disabled until it ends.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from ...stores.session import SessionStore
from ..widgets.forms import Field, FormDialog, line_edit
from ..widgets.message_bar import Level

LOCKED_CODE = "LOGIN_LOCKED"
UNLOCKED_MESSAGE = "You can try again now."


def format_wait(seconds: int) -> str:
    """``27 s`` under a minute, else ``2 min 5 s`` (``2 min`` on the minute)."""
    seconds = max(0, seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def locked_message(seconds: int) -> str:
    return f"Too many failed attempts. Try again in {format_wait(seconds)}."


class LoginDialog(FormDialog):
    """Accepted once signed in (read the session from the ``SessionStore``); rejected
    when the user quits instead. Wrong password and disabled account show in the
    dialog's message bar; a lockout shows there as a countdown.

    ``clock`` is a monotonic clock in seconds (tests pass one they can move on).
    """

    def __init__(
        self,
        session: SessionStore,
        *,
        workspace: str = "",
        on_change_place: Callable[[], None] | None = None,
        login: str = "",
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            session,
            title="Sign in — WindFlow Desktop",
            heading="Sign in",
            blurb=(f"Workspace: {workspace}" if workspace and on_change_place is None
                   else ""),
            submit_text="Sign in",
            busy_text="Signing in…",
            cancel_text="Quit",
            parent=parent,
        )
        self.session = session
        self._clock = clock
        self._attempt: asyncio.Task[Any] | None = None
        self._locked_until: float | None = None  # on ``clock``; None when not locked out
        self.lockout_timer = QTimer(self)
        self.lockout_timer.setInterval(1000)
        # A coarse timer may fire early and show the same second twice.
        self.lockout_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.lockout_timer.timeout.connect(self.update_lockout)
        if on_change_place is not None:
            where = workspace if workspace.startswith("Server:") else f"Workspace: {workspace}"
            self.add_place(where, on_change_place)
        self.login = line_edit("Username or email")
        self.login.setText(login)
        self.password = line_edit("Password", password=True)
        self.login_field = self.add_field("&Username or email:", self.login)
        self.password_field = self.add_field("&Password:", self.password)
        self.remember = self.add_checkbox("&Remember me on this computer", "Remember me")
        self.remember.setToolTip("Keeps you signed in for 7 days, in the system keyring.")
        (self.password if login else self.login).setFocus()

    # -- form ------------------------------------------------------------------------

    def validate_field(self, field: Field) -> bool:
        if field is self.login_field:
            problem = None if self.login.text().strip() else "enter your username or email"
        elif field is self.password_field:
            problem = None if self.password.text() else "enter your password"
        else:
            problem = None
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        return all([self.validate_field(self.login_field),
                    self.validate_field(self.password_field)])

    def submit(self) -> None:
        if self.locked_out:
            return  # the button is disabled; Enter or a direct call must not get through
        super().submit()

    def start(self) -> asyncio.Task[Any]:
        self._stop_lockout()  # a new attempt: whatever it ends with replaces the countdown
        task: asyncio.Task[Any] = self.session.login(
            self.login.text().strip(), self.password.text(), remember=self.remember.isChecked()
        )
        self._attempt = task
        return task

    def succeeded(self, result: Any) -> None:
        self._stop_lockout()
        self.password.clear()
        self.accept()

    def failed(self, code: str, message: str) -> None:
        wait = self.session.login_wait_of(self._attempt) if self._attempt is not None else None
        self._attempt = None
        self._stop_lockout()
        if wait is not None:
            self._locked_until = self._clock() + wait
            self.submit_button.setEnabled(False)
            self.message_bar.show_message(locked_message(wait), Level.ERROR, code=LOCKED_CODE)
            self.lockout_timer.start()
            self.update_lockout()
        else:
            super().failed(code, message)
        self.password.clear()
        self.password.setFocus()

    def done(self, result: int) -> None:
        self._stop_lockout()
        super().done(result)

    # -- lockout countdown -----------------------------------------------------------

    @property
    def locked_out(self) -> bool:
        """Whether sign-in is refused for now (the countdown is running)."""
        return self._locked_until is not None

    def update_lockout(self) -> None:
        """Slot of ``lockout_timer``: show the seconds left, or end the lockout."""
        if self._locked_until is None:
            self.lockout_timer.stop()
            return
        left = math.ceil(self._locked_until - self._clock())
        if left <= 0:
            self._stop_lockout()
            self.message_bar.show_message(UNLOCKED_MESSAGE, Level.INFO)
            self.fit()
            return
        text = locked_message(left)
        self.submit_button.setEnabled(False)
        self.submit_button.setToolTip(text)  # still says why once the message is dismissed
        if self.message_bar.code == LOCKED_CODE and self.message_bar.text() != text:
            self.message_bar.show_message(text, Level.ERROR, code=LOCKED_CODE)
            self.fit()

    def _stop_lockout(self) -> None:
        self.lockout_timer.stop()
        if self._locked_until is None:
            return
        self._locked_until = None
        self.submit_button.setToolTip("")
        self.submit_button.setEnabled(not self.busy)

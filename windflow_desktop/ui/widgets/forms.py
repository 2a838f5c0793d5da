"""Form helpers shared by the dialogs: a ``FormDialog`` base (heading, message bar, fields
with inline errors, busy state) and ``follow`` to learn how one store action ended.

Dialogs never call ``exec()``: the caller opens them with ``open()`` and listens to
``accepted``/``rejected``/``finished``; the dialog starts the store action itself and
closes when it succeeds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.identity import MIN_PASSWORD_LENGTH
from ...stores.base import Store
from .layouts import vbox
from .message_bar import MessageBar, as_sentence

INTERRUPTED_CODE = "INTERRUPTED"
INTERRUPTED_MESSAGE = "the request was interrupted or failed unexpectedly: try again"


def follow(
    store: Store,
    task: asyncio.Task[Any],
    *,
    ok: Callable[[Any], None],
    failed: Callable[[str, str], None],
    interrupted: Callable[[str, str], None] | None = None,
) -> None:
    """Call ``ok(result)`` or ``failed(code, message)`` when ``task`` (an action of
    ``store``) ends; only the expected error of this very task counts (``store.error_of``),
    not errors of other actions of the store. A cancelled task, or one that raised an
    unexpected error (that one also reaches the crash handler through the task tracker),
    calls ``interrupted(code, message)`` with a generic message when given, else
    nothing."""

    def done(t: asyncio.Task[Any]) -> None:
        if t.cancelled() or t.exception() is not None:
            if interrupted is not None:
                interrupted(INTERRUPTED_CODE, INTERRUPTED_MESSAGE)
            return
        error = store.error_of(t)
        if error is not None:
            failed(*error)
        else:
            ok(t.result())

    task.add_done_callback(done)


class Field:
    """One input of a form with the inline error under it."""

    def __init__(self, widget: QWidget, error: QLabel) -> None:
        self.widget = widget
        self.error = error

    def set_error(self, message: str | None) -> None:
        self.error.setText(as_sentence(message) if message else "")
        self.error.setVisible(bool(message))
        self.widget.setProperty("invalid", bool(message))
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)

    @property
    def has_error(self) -> bool:
        return not self.error.isHidden()


def line_edit(accessible_name: str, *, password: bool = False, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(accessible_name)
    if password:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
        )
    if placeholder:
        edit.setPlaceholderText(placeholder)
    return edit


class FormDialog(QDialog):
    """A dialog with a heading, a message bar, a form and Cancel/submit buttons.

    Subclasses build their fields with ``add_field``, implement ``validate()`` (inline
    errors; True when the form can be sent) and ``start()`` (start the store action and
    return its task), and may override ``succeeded``.
    """

    STYLE = """
        QLabel#dialogHeading { font-size: 17px; font-weight: 600; }
        QLabel#dialogBlurb { color: #5f6368; }
        QLabel#fieldError { color: #b3261e; font-size: 11px; }
        QLabel#formSection { font-weight: 600; padding-top: 6px; }
        QLineEdit[invalid="true"] { border: 1px solid #d93025; border-radius: 3px;
                                    padding: 2px; }
    """

    def __init__(
        self,
        store: Store,
        *,
        title: str,
        heading: str,
        blurb: str,
        submit_text: str,
        busy_text: str,
        cancel_text: str = "Cancel",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._submit_text, self._busy_text = submit_text, busy_text
        self._busy = False
        self._fields: list[Field] = []
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setStyleSheet(self.STYLE)
        self.setMinimumWidth(440)

        self.heading = QLabel(heading)
        self.heading.setObjectName("dialogHeading")
        self.blurb = QLabel(blurb)
        self.blurb.setObjectName("dialogBlurb")
        self.blurb.setWordWrap(True)
        self.blurb.setVisible(bool(blurb))
        self.message_bar = MessageBar()
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setVerticalSpacing(6)
        self._form_box = QWidget()
        self._form_box.setLayout(self.form)

        self.buttons = QDialogButtonBox()
        self.submit_button = QPushButton(submit_text)
        self.submit_button.setDefault(True)
        self.submit_button.setAccessibleName(submit_text.rstrip("…"))
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.setAccessibleName(cancel_text)
        self.buttons.addButton(self.submit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)

        vbox(self, self.heading, self.blurb, self.message_bar, self._form_box, None,
             self.buttons, margins=(24, 20, 24, 16), spacing=10)

    # -- building --------------------------------------------------------------------

    def add_section(self, title: str) -> None:
        label = QLabel(title)
        label.setObjectName("formSection")
        self.form.addRow(label)

    def add_field(self, label: str, widget: QWidget, hint: str = "") -> Field:
        error = QLabel()
        error.setObjectName("fieldError")
        # No word wrap: QFormLayout sizes wrapped labels wrongly and they would overlap.
        error.hide()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        if hint:
            # A third line in the row confuses QFormLayout's sizing (the edit gets
            # squashed once the error shows): the hint lives in the field itself.
            if isinstance(widget, QLineEdit) and not widget.placeholderText():
                widget.setPlaceholderText(hint)
            widget.setToolTip(hint)
        column.addWidget(error)
        caption = QLabel(label)
        caption.setBuddy(widget)
        self.form.addRow(caption, box)
        error.setAccessibleName(f"{widget.accessibleName()} error")
        field = Field(widget, error)
        self._fields.append(field)
        if isinstance(widget, QLineEdit):
            # Check a field once the user leaves it; once flagged, re-check as they type.
            widget.editingFinished.connect(lambda: self._check(field))
            widget.textEdited.connect(lambda _t: self._recheck(field))
        return field

    def add_place(self, where: str, on_change: Callable[[], None]) -> QPushButton:
        """A line under the heading saying where this signs in, with "Change…"."""
        label = QLabel(where)
        label.setObjectName("dialogBlurb")
        change = QPushButton("Change…")
        change.setAccessibleName("Change where to work")
        change.setAutoDefault(False)
        change.clicked.connect(on_change)
        row = QHBoxLayout()
        row.addWidget(label, 1)
        row.addWidget(change)
        self.form.insertRow(0, row)
        return change

    def add_checkbox(self, text: str, accessible_name: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setAccessibleName(accessible_name)
        self.form.addRow("", box)
        return box

    # -- behaviour -------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._form_box.setEnabled(not busy)
        self.submit_button.setEnabled(not busy)
        self.submit_button.setText(self._busy_text if busy else self._submit_text)
        if not busy:  # disabling it moved the default to Cancel: Enter must submit again
            self.submit_button.setDefault(True)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def validate_field(self, field: Field) -> bool:
        """Re-check one field (override to check fields one by one); True when valid."""
        return True

    def validate(self) -> bool:
        return True

    def start(self) -> asyncio.Task[Any]:
        raise NotImplementedError

    def submit(self) -> None:
        if self._busy:
            return
        if not self.validate():
            self.message_bar.clear()
            self._focus_first_error()
            self.fit()
            return
        self.message_bar.clear()
        self.set_busy(True)
        try:
            task = self.start()
        except BaseException:
            self.set_busy(False)
            raise
        # Every ending clears the busy state: a dialog must never stay stuck.
        follow(self._store, task, ok=self._ok, failed=self._failed, interrupted=self._failed)

    def succeeded(self, result: Any) -> None:
        self.accept()

    def failed(self, code: str, message: str) -> None:
        self.message_bar.show_error(code, message)

    def _ok(self, result: Any) -> None:
        self.set_busy(False)
        self.succeeded(result)

    def _failed(self, code: str, message: str) -> None:
        self.set_busy(False)
        self.failed(code, message)
        self.fit()

    def _check(self, field: Field) -> None:
        self.validate_field(field)
        self.fit()

    def _recheck(self, field: Field) -> None:
        if field.has_error:
            self._check(field)

    def fit(self) -> None:
        """Grow to the size hint when error lines appear. The layout's minimum undercounts
        the rows of a ``QFormLayout`` whose fields gained a line, so the edits would be
        squashed; never shrink what the user sized."""
        hint = self.sizeHint()
        if hint.height() > self.height() or hint.width() > self.width():
            self.resize(max(hint.width(), self.width()), max(hint.height(), self.height()))

    def _focus_first_error(self) -> None:
        for field in self._fields:
            if field.has_error:
                field.widget.setFocus()
                return

    def reject(self) -> None:
        if self._busy:
            return  # the action is running; it ends in a moment
        super().reject()


# -- inline checks (the services check again and have the last word) -------------------

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,149}$")


def username_problem(text: str) -> str | None:
    text = text.strip()
    if not text:
        return "enter a username"
    if not _USERNAME.match(text):
        return "use 2 to 150 letters, digits, dots, dashes or underscores"
    return None


def email_problem(text: str) -> str | None:
    text = text.strip()
    local, _, domain = text.partition("@")
    if not text:
        return "enter an email address"
    if not local or "." not in domain or " " in text:
        return "enter an address like name@example.com"
    return None


def password_problem(text: str) -> str | None:
    if not text:
        return "enter a password"
    if len(text) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if not text.strip():
        return "the password cannot be only spaces"
    return None

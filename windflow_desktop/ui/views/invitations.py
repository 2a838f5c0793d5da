"""``InvitationsPanel``: the signed-in user's pending invitations into organizations, each
with Accept and Decline (Settings, Invitations). Nobody joins an organization without
answering here."""

from __future__ import annotations

import uuid

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...stores.users import PendingInvitation, UsersStore
from ..widgets.forms import follow
from ..widgets.message_bar import MessageBar


class InvitationRow(QWidget):
    """One invitation: what it offers, and the two answers."""

    def __init__(self, invitation: PendingInvitation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.invitation = invitation
        org = invitation.organization.name
        self.label = QLabel(f"<b>{_escape(org)}</b> invites you as "
                            f"{invitation.role.value}")
        self.accept_button = QPushButton("Accept")
        self.accept_button.setAccessibleName(f"Accept the invitation to {org}")
        self.decline_button = QPushButton("Decline")
        self.decline_button.setAccessibleName(f"Decline the invitation to {org}")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.accept_button)
        row.addWidget(self.decline_button)

    def set_busy(self, busy: bool) -> None:
        self.accept_button.setEnabled(not busy)
        self.decline_button.setEnabled(not busy)


class InvitationsPanel(QWidget):
    """Lists ``users.invitations``; the rows are rebuilt when the store reloads them."""

    def __init__(self, users: UsersStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users = users
        self.setAccessibleName("Invitations")
        self.message_bar = MessageBar()
        self.message_bar.bind(users)
        self.empty = QLabel("No invitations are waiting for you.")
        self.empty.setObjectName("dialogBlurb")
        self._rows_box = QVBoxLayout()
        self.rows: dict[uuid.UUID, InvitationRow] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.message_bar)
        layout.addWidget(QLabel("Organizations that invited you. You become a member only "
                                "when you accept."))
        layout.addLayout(self._rows_box)
        layout.addWidget(self.empty)
        layout.addStretch(1)
        users.sig_invitations_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        for row in self.rows.values():
            self._rows_box.removeWidget(row)
            row.deleteLater()
        self.rows = {}
        for invitation in self.users.invitations:
            row = InvitationRow(invitation, self)
            row.accept_button.clicked.connect(self._accept_clicked)
            row.decline_button.clicked.connect(self._decline_clicked)
            self._rows_box.addWidget(row)
            self.rows[invitation.id] = row
        self.empty.setVisible(not self.rows)

    def _row_of_sender(self) -> InvitationRow | None:
        button = self.sender()
        row = button.parent() if button is not None else None
        return row if isinstance(row, InvitationRow) else None

    def _accept_clicked(self) -> None:
        row = self._row_of_sender()
        if row is not None:
            self._answer(row, accept=True)

    def _decline_clicked(self) -> None:
        row = self._row_of_sender()
        if row is not None:
            self._answer(row, accept=False)

    def _answer(self, row: InvitationRow, *, accept: bool) -> None:
        row.set_busy(True)
        invitation = row.invitation
        name = invitation.organization.name
        if accept:
            task = self.users.accept_invitation(invitation.id)
            done = f"You are now a member of {name}"
        else:
            task = self.users.decline_invitation(invitation.id)
            done = f"Invitation to {name} declined"
        follow(self.users, task, ok=lambda _result: self.message_bar.show_success(done),
               failed=lambda _code, _message: self._answer_failed(invitation.id),
               interrupted=lambda _code, _message: self._answer_failed(invitation.id))

    def _answer_failed(self, invitation_id: uuid.UUID) -> None:
        # The error itself shows in the bar (bound to the store); the row is usable again.
        row = self.rows.get(invitation_id)
        if row is not None:
            row.set_busy(False)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Settings → Access tokens over the real service (SQLite): a new token's text is shown
once with Copy, the list names it with its prefix, revoking asks and removes it — and
the revoked token no longer signs anyone in."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import set_up
from tests.support.qt import Workspace
from windflow_desktop.domain.errors import AuthenticationError
from windflow_desktop.services.access_tokens import AccessTokenService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.stores.access_tokens import AccessTokensStore
from windflow_desktop.ui.views.access_tokens import AccessTokensPanel, ShownOnceDialog

WAIT_MS = 15_000


def test_make_copy_list_and_revoke_a_token(qtbot: QtBot, workspace: Workspace) -> None:
    svc = workspace.services
    set_up(workspace)
    workspace.run(workspace.session.login("alice", PASSWORD))
    service = AccessTokenService(ServiceContext(svc.backend, svc.bus, clock=svc.clock))
    store = AccessTokensStore(workspace.session, service)
    panel = AccessTokensPanel(store)
    qtbot.addWidget(panel)
    panel.show()
    try:
        panel.ask_new()
        dialog = panel._dialogs[-1]
        qtbot.keyClicks(dialog.name, "CI of web")
        dialog.ok.click()
        qtbot.waitUntil(lambda: any(isinstance(d, ShownOnceDialog) for d in panel._dialogs),
                        timeout=WAIT_MS)
        shown = next(d for d in panel._dialogs if isinstance(d, ShownOnceDialog))
        token = shown.text.text()
        shown.copy.click()
        assert QApplication.clipboard().text() == token
        qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT_MS)
        row = store.tokens[0]
        assert row.name == "CI of web" and token.startswith(row.prefix)
        assert token not in repr(row)  # the store keeps no token text
        principal = workspace.run(service.authenticate(token))
        assert principal.user_id == workspace.session.require_principal().user_id

        panel.table.selectRow(0)
        panel.ask_revoke()
        box = panel._dialogs[-1]
        revoke = next(b for b in box.buttons() if b.text() == "Revoke")
        assert isinstance(box, QMessageBox)
        revoke.click()
        qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=WAIT_MS)
        with pytest.raises(AuthenticationError):
            workspace.run(service.authenticate(token))
    finally:
        workspace.run(store.shutdown())

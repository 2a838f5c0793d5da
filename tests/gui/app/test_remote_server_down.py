"""The server goes away under a signed-in desktop: the lists keep what they showed, the
actions that act through the server are disabled with a tooltip saying why — and when
the server is back on the same port everything recovers on its own: the actions come
back as their page wants them, and a change made while the desktop could not see the
server shows in the list."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QPushButton, QToolTip, QWidget
from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.support.app import dialog_of
from tests.support.auth_dialogs import sign_in
from tests.support.server import COMPOSE, PASSWORD, bearer, create_owner, running_server
from tests.support.server import sign_in as api_sign_in
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.dialogs.login import LoginDialog
from windflow_desktop.ui.dialogs.place import Place, save_place
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage

WAIT_MS = 30_000
# A stream the server ends (stopped) leaves httpx's line iterators to the collector, which
# finalises them outside their task: anyio reports it as unraisable (test_remote_mode.py).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
SHOTS = Path(os.environ.get("WINDFLOW_SCREENSHOTS", "/tmp/windflow-screenshots"))


def add_target(http: Any, token: str, name: str) -> None:
    made = http.post("/api/v1/targets", headers=bearer(token),
                     json={"name": name, "kind": "local", "docker_socket": "/nowhere.sock"})
    assert made.status_code == 201, made.text


def with_tooltip(window: QWidget, button: QWidget) -> QPixmap:
    """The window with ``button``'s tooltip drawn where Qt shows it (a screenshot)."""
    shot = window.grab()
    at = button.mapTo(window, QPoint(8, button.height() + 4))
    QToolTip.showText(button.mapToGlobal(QPoint(8, button.height() + 4)), button.toolTip(),
                      button)
    tip = next(w for w in QApplication.topLevelWidgets()
               if w.inherits("QTipLabel") and w.isVisible())
    painter = QPainter(shot)
    painter.drawPixmap(min(at.x(), shot.width() - tip.width()), at.y(), tip.grab())
    painter.end()
    QToolTip.hideText()
    return shot


def test_actions_wait_for_a_server_that_went_away_and_come_back_with_it(
    qtbot: QtBot, qloop: Any, tmp_path: Path
) -> None:
    server_home, desk = tmp_path / "server", tmp_path / "desk"
    create_owner(server_home)
    port = free_port()
    settings = load_settings({"WINDFLOW_HOME": str(desk)})
    desk.mkdir(parents=True, exist_ok=True)
    with running_server(server_home, port=port) as server, server.client() as http:
        token = api_sign_in(http, "olga")["access_token"]
        add_target(http, token, "edge-1")
        stack = http.post("/api/v1/stacks", headers=bearer(token),
                          json={"name": "Web", "compose_yaml": COMPOSE})
        assert stack.status_code == 201, stack.text
        save_place(QSettings(str(desk / "ui.ini"), QSettings.Format.IniFormat),
                   Place(server.url, "", "olga"))
        app = WindFlowApp(settings, started=time.monotonic(),
                          secrets=SecretStore(MemoryKeyring()), watch_health=False)
        task = qloop.create_task(app.run())
        try:
            qtbot.waitUntil(lambda: dialog_of(LoginDialog) is not None, timeout=WAIT_MS)
            sign_in(qtbot, dialog_of(LoginDialog), "olga", PASSWORD)
            qtbot.waitUntil(lambda: app.session is not None and app.session.signed_in,
                            timeout=WAIT_MS)
            window, stores = app.window, app.stores
            assert window is not None and stores is not None
            targets_page = window.page("targets")
            stacks_page = window.page("stacks")
            assert isinstance(targets_page, TargetsPage)
            assert isinstance(stacks_page, StacksPage)
            qtbot.waitUntil(lambda: [t.name for t in stores.targets.targets] == ["edge-1"],
                            timeout=WAIT_MS)
            qtbot.waitUntil(lambda: window.bus_label.text() == "● Live (server)",
                            timeout=WAIT_MS)
            qtbot.waitUntil(lambda: [s.name for s in stores.stacks.rows] == ["Web"],
                            timeout=WAIT_MS)
            stacks_page.select_stack(stores.stacks.rows[0].id)
            actions: list[QPushButton] = [stacks_page.deploy_button, stacks_page.new_button,
                                          targets_page.add_button]
            qtbot.waitUntil(lambda: all(b.isEnabled() for b in actions), timeout=WAIT_MS)
            own_tips = [b.toolTip() for b in actions]
            assert stores.connection.online

            server.process.kill()  # the server dies: no goodbye on the stream
            server.process.wait(timeout=30)
            qtbot.waitUntil(lambda: window.bus_label.text() == "◌ Reconnecting…",
                            timeout=WAIT_MS)
            qtbot.waitUntil(lambda: not any(b.isEnabled() for b in actions),
                            timeout=WAIT_MS)
            assert not stores.connection.online
            said = {f"The server at {server.url} cannot be reached ({why}) — actions come "
                    "back when it does" for why in ("the connection to it was cut",
                                                   "it refuses connections: is it running?")}
            for button in actions:
                assert button.toolTip() in said
            # The lists keep what they showed; the page's own rules still run while the
            # server is away (a new selection), but the buttons stay off.
            assert [t.name for t in stores.targets.targets] == ["edge-1"]
            typed = COMPOSE + "# typed while the server was away\n"
            stacks_page.editor.setPlainText(typed)
            assert stacks_page.unsaved.dirty
            stacks_page.deploy_button.setEnabled(True)
            assert not stacks_page.deploy_button.isEnabled()
            window.show_page("stacks")
            SHOTS.mkdir(parents=True, exist_ok=True)
            qtbot.wait(200)
            assert window.grab().save(str(SHOTS / "remote-server-down.png"))
            assert with_tooltip(window, stacks_page.deploy_button).save(
                str(SHOTS / "remote-server-down-tooltip.png"))

            # Meanwhile someone adds a target through the API of a server on the same
            # data (another port: the desktop's server is still down), which stops again.
            with running_server(server_home) as other, other.client() as other_http:
                other_token = api_sign_in(other_http, "olga")["access_token"]
                add_target(other_http, other_token, "edge-2")
            assert not stores.connection.online

            with running_server(server_home, port=port):  # back, on the same port
                qtbot.waitUntil(lambda: window.bus_label.text() == "● Live (server)",
                                timeout=WAIT_MS)
                qtbot.waitUntil(lambda: all(b.isEnabled() for b in actions),
                                timeout=WAIT_MS)
                assert stores.connection.online
                assert [b.toolTip() for b in actions] == own_tips
                qtbot.waitUntil(lambda: sorted(t.name for t in stores.targets.targets)
                                == ["edge-1", "edge-2"], timeout=WAIT_MS)
                # The reload kept the chosen stack and what was typed in its editor.
                assert stores.stacks.selected is not None
                assert stores.stacks.selected.name == "Web"
                assert stacks_page.editor.toPlainText() == typed
                assert stacks_page.unsaved.dirty
        finally:
            app.quit_requested.set()
            qtbot.waitUntil(task.done, timeout=WAIT_MS)
            # The connections the killed server left are finalised here, where the
            # mark above expects it, not in whichever test the collector runs next.
            gc.collect()
    assert task.result() == 0

"""A settings file others can read (it may hold a database password) is reported in the
window, as a warning that stays until dismissed, and in the log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.widgets.message_bar import Level

WAIT_MS = 20_000


def run(home: Path, qloop: Any) -> tuple[WindFlowApp, asyncio.Task[int]]:
    settings = load_settings({"WINDFLOW_HOME": str(home)})
    app = WindFlowApp(settings, started=time.monotonic(), secrets=SecretStore(MemoryKeyring()),
                      watch_health=False)
    return app, qloop.create_task(app.run())


def test_a_settings_file_others_can_read_is_reported(qtbot: QtBot, qloop: Any,
                                                     tmp_path: Path, caplog: Any) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text('log_level = "INFO"\n')
    settings_file.chmod(0o644)
    app, task = run(tmp_path, qloop)
    qtbot.waitUntil(lambda: app.message_bar is not None and "settings.toml" in
                    app.message_bar.text(), timeout=WAIT_MS)
    assert app.message_bar.level is Level.WARNING
    assert "can be read by other users" in app.message_bar.text()
    assert "chmod 600" in app.message_bar.text()
    assert any("settings.toml can be read by other users" in r.getMessage()
               for r in caplog.records if r.name == "windflow.app")
    app.quit_requested.set()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.result() == 0


def test_only_a_settings_file_others_can_reach_is_reported(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text('log_level = "INFO"\n')
    settings_file.chmod(0o600)
    assert load_settings({"WINDFLOW_HOME": str(tmp_path)}).notices == ()
    settings_file.chmod(0o640)
    assert len(load_settings({"WINDFLOW_HOME": str(tmp_path)}).notices) == 1

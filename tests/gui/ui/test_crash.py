"""The crash handler: unexpected errors are logged in full and shown once per kind."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from windflow_desktop.ui.crash import CrashHandler


def crash_boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.isVisible() and "unexpected" in w.windowTitle()
    ]


def raise_and_report(handler: CrashHandler, exc: Exception) -> None:
    try:
        raise exc
    except Exception:
        handler.excepthook(*sys.exc_info())  # type: ignore[arg-type]


def test_one_dialog_per_distinct_error(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    handler = CrashHandler(dialogs=True)
    caplog.set_level(logging.CRITICAL, logger="windflow.crash")
    for _ in range(3):
        raise_and_report(handler, RuntimeError("boom"))
    qtbot.waitUntil(lambda: len(crash_boxes()) == 1)
    raise_and_report(handler, KeyError("other"))
    qtbot.waitUntil(lambda: len(crash_boxes()) == 2)
    assert handler.count == 4
    assert sum("unexpected error" in r.message for r in caplog.records) == 4
    assert "RuntimeError: boom" in caplog.text  # the traceback is in the log
    for box in crash_boxes():
        box.close()


def test_dialogs_off_still_logs(qtbot: QtBot, caplog: pytest.LogCaptureFixture) -> None:
    handler = CrashHandler(dialogs=False)
    raise_and_report(handler, ValueError("quiet"))
    assert crash_boxes() == []
    assert "ValueError: quiet" in caplog.text


def test_install_routes_sys_excepthook_and_uninstall_restores() -> None:
    previous = sys.excepthook
    handler = CrashHandler(dialogs=False)
    handler.install()
    assert sys.excepthook == handler.excepthook
    handler.uninstall()
    assert sys.excepthook is previous

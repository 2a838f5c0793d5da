"""Qt's own warnings reach the ``windflow.qt`` logger (and so the log file)."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import qInstallMessageHandler, qWarning
from PySide6.QtWidgets import QApplication

from windflow_desktop.ui.qtlog import install_qt_message_handler


def test_qt_warnings_are_logged(qapp: QApplication, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="windflow.qt")
    previous = install_qt_message_handler()
    try:
        qWarning("a qt warning for the log")
    finally:
        qInstallMessageHandler(previous)  # type: ignore[arg-type]
    records = [r for r in caplog.records if r.name == "windflow.qt"]
    assert [r.getMessage() for r in records] == ["a qt warning for the log"]
    assert records[0].levelno == logging.WARNING

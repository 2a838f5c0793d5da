"""One deduplicated crash dialog for unexpected errors (off in tests).

Unexpected exceptions from the Qt thread (``sys.excepthook``) and from asyncio tasks
(the loop's exception handler) are logged in full; the user sees one dialog per distinct
error, never a cascade. ``WINDFLOW_CRASH_DIALOGS=0`` turns dialogs off (tests, smoke).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("windflow.crash")


class CrashHandler:
    def __init__(
        self,
        *,
        dialogs: bool | None = None,
        on_interrupt: Callable[[], None] | None = None,
    ) -> None:
        if dialogs is None:
            dialogs = os.environ.get("WINDFLOW_CRASH_DIALOGS", "1") != "0"
        self.dialogs = dialogs
        self.seen: set[tuple[str, str]] = set()
        self.count = 0
        # Ctrl+C asks the app to quit through its own path (teardown runs); quitting the
        # QApplication under a running qasync loop would skip it.
        self.on_interrupt = on_interrupt or QApplication.quit
        self._boxes: set[QMessageBox] = set()
        self._previous_hook = sys.excepthook

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        sys.excepthook = self.excepthook
        if loop is not None:
            loop.set_exception_handler(self._loop_handler)

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook

    def excepthook(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self.on_interrupt()
            return
        self.report(exc, tb)

    def _loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report(exc, exc.__traceback__, context.get("message", ""))
        else:
            log.error("asyncio: %s", context.get("message", context))

    def report(self, exc: BaseException, tb: TracebackType | None, where: str = "") -> None:
        self.count += 1
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        log.critical("unexpected error %s\n%s", where, text)
        signature = (type(exc).__name__, str(exc))
        if not self.dialogs or signature in self.seen or QApplication.instance() is None:
            self.seen.add(signature)
            return
        self.seen.add(signature)
        box = QMessageBox(QMessageBox.Icon.Critical, "WindFlow Desktop — unexpected error",
                          f"Something went wrong: {type(exc).__name__}: {exc}")
        box.setInformativeText("The details are in the log file. You can keep working; "
                               "if the problem repeats, restart the app.")
        box.setDetailedText(text)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # No parent owns the box: keep it alive until it is closed.
        self._boxes.add(box)
        box.finished.connect(lambda _result: self._boxes.discard(box))
        box.open()

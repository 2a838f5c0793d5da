"""Guard against Qt binding releases that lose references to None or bools.

PySide6 6.12.0 on Python 3.11 returned None from void methods without a reference: each
call took one away, and a long session ended in ``Fatal Python error: none_dealloc``.
pyproject.toml excludes that release; this test fails on any release that does it again.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel


class _Emitter(QObject):
    sig_flag = Signal(bool)


def test_void_methods_and_bool_signals_keep_none_and_bools_alive(qapp: QApplication) -> None:
    label = QLabel()
    emitter = _Emitter()
    received: list[bool] = []
    emitter.sig_flag.connect(received.append)
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for i in range(2000):
        label.update()
        label.setText(str(i))
        emitter.sig_flag.emit(i % 2 == 0)
    received.clear()
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    drift = [a - b for a, b in zip(after, before, strict=True)]
    assert all(d > -100 for d in drift), f"references lost (None, True, False): {drift}"

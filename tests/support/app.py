"""Helpers shared by the tests (a test imports no other test module nor a conftest),
cut out of ``tests/gui/app/test_app.py``."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QDialog


def dialog_of(kind: type[QDialog]) -> Any:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    return found[0] if found else None

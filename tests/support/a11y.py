"""Finding the widgets a person acts on, to check each has an accessible name."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLineEdit,
    QWidget,
)

ACTIONABLE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView)


def actionable_widgets(
    root: QWidget, kinds: tuple[type[QWidget], ...] = ACTIONABLE
) -> list[QWidget]:
    """Widgets of ``kinds`` we placed under ``root`` (not the parts Qt builds inside them)."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, kinds):
            continue
        parent, inner = widget.parentWidget(), False
        while parent is not None and parent is not root:
            inner |= isinstance(parent, kinds)
            parent = parent.parentWidget()
        if not inner:
            found.append(widget)
    return found

"""``vbox(owner, *items)`` and ``hbox(*items)``: a box layout filled in one call.

An item is a widget, a layout, ``(widget_or_layout, stretch)``, or None for a stretch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLayout, QVBoxLayout, QWidget

Item = QWidget | QLayout | tuple[QWidget | QLayout, int] | None
L = TypeVar("L", bound=QBoxLayout)


def vbox(owner: QWidget | None, *items: Item, margins: tuple[int, int, int, int] | None = None,
           spacing: int | None = None) -> QVBoxLayout:
    """A vertical layout (installed on ``owner`` when given) holding ``items``."""
    layout = QVBoxLayout(owner) if owner is not None else QVBoxLayout()
    return _filled(layout, items, margins, spacing)


def hbox(*items: Item, margins: tuple[int, int, int, int] | None = None,
        spacing: int | None = None) -> QHBoxLayout:
    """A horizontal layout holding ``items``."""
    return _filled(QHBoxLayout(), items, margins, spacing)


def _filled(layout: L, items: Iterable[Item], margins: tuple[int, int, int, int] | None,
            spacing: int | None) -> L:
    if margins is not None:
        layout.setContentsMargins(*margins)
    if spacing is not None:
        layout.setSpacing(spacing)
    for item in items:
        thing, stretch = item if isinstance(item, tuple) else (item, 0)
        if thing is None:
            layout.addStretch(1)
        elif isinstance(thing, QLayout):
            layout.addLayout(thing, stretch)
        else:
            layout.addWidget(thing, stretch)
    return layout

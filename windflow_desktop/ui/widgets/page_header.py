"""The header every page starts with — one title style, an optional subtitle, the page's
own buttons at the right — and the page margins, so all pages share one layout."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..theme import set_font

PAGE_MARGINS = (24, 16, 24, 12)
TITLE_PIXELS = 20


class PageHeader(QWidget):
    """``title`` in the page-title style; ``subtitle`` under it (hidden when empty)."""

    def __init__(self, title: str, subtitle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setObjectName("pageTitle")
        self.title.setAccessibleName(f"{title} title")
        set_font(self.title, pixel_size=TITLE_PIXELS, bold=True)
        self.subtitle = QLabel(subtitle)
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setVisible(bool(subtitle))
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        self.buttons = QHBoxLayout()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(titles, 1)
        row.addLayout(self.buttons)
        row.setAlignment(self.buttons, Qt.AlignmentFlag.AlignTop)

    def set_subtitle(self, text: str) -> None:
        self.subtitle.setText(text)
        self.subtitle.setVisible(bool(text))

    def add_button(self, widget: QWidget) -> None:
        self.buttons.addWidget(widget)


def page_layout(page: QWidget, header: PageHeader) -> QVBoxLayout:
    """The page's outer layout with the shared margins, the header first."""
    layout = QVBoxLayout(page)
    layout.setContentsMargins(*PAGE_MARGINS)
    layout.setSpacing(10)
    layout.addWidget(header)
    return layout



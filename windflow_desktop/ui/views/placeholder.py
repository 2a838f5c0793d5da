"""A page that is not built yet: its title and what it will hold."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ..widgets.page_header import PageHeader, page_layout


class PlaceholderPage(QWidget):
    def __init__(self, title: str, blurb: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(f"{title} page")
        self.header = PageHeader(title, blurb)
        self.header.subtitle.setWordWrap(True)
        self.header.subtitle.setObjectName("pageBlurb")
        layout = page_layout(self, self.header)
        layout.addStretch(1)

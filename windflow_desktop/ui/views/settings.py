"""``SettingsPage``: the Settings page — a heading and one tab per section.

Users & roles is the first section, then invitations and notifications; sections are
added with ``add_section``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from ..widgets.page_header import PageHeader, page_layout


class SettingsPage(QWidget):
    """Sections are tabs, in the order they were added."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Settings page")
        self.header = PageHeader("Settings",
                                 "Users and roles, your invitations, and notifications.")
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings sections")
        self.tabs.setDocumentMode(True)
        layout = page_layout(self, self.header)
        layout.addWidget(self.tabs, 1)

    def add_section(self, title: str, widget: QWidget) -> int:
        """Append a section; returns its index."""
        if not widget.accessibleName():
            widget.setAccessibleName(title)
        return self.tabs.addTab(widget, title.replace("&", "&&"))  # "&" is not a mnemonic

    def sections(self) -> list[str]:
        return [self.tabs.tabText(i).replace("&&", "&") for i in range(self.tabs.count())]

    def section(self, title: str) -> QWidget | None:
        index = self.sections().index(title) if title in self.sections() else -1
        return self.tabs.widget(index) if index >= 0 else None

    def show_section(self, title: str) -> None:
        if title in self.sections():
            self.tabs.setCurrentIndex(self.sections().index(title))

    def current_section(self) -> str:
        return self.tabs.tabText(self.tabs.currentIndex()).replace("&&", "&")

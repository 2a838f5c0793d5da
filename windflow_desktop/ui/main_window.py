"""The main window: a sidebar of pages, the page stack, and a status bar.

Signals:
    sig_close_requested(): the user closed the window (the app decides: tray or quit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QImageReader, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from ..resources import icon_path
from .views.placeholder import PlaceholderPage


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    blurb: str


PAGES = (
    PageSpec("dashboard", "Dashboard", "Targets online, running and failed deployments, "
             "recent activity — live."),
    PageSpec("targets", "Targets", "The machines you deploy to: this computer's engine, "
             "hosts over SSH, and Docker engines over TCP+TLS."),
    PageSpec("stacks", "Stacks", "Compose files with variables; every save is a revision "
             "you can diff and restore."),
    PageSpec("deployments", "Deployments", "Every deployment with its stages, live logs, "
             "and rollback to the last good revision."),
    PageSpec("containers", "Containers", "The containers on each target: start, stop, "
             "restart, remove, and their logs."),
    PageSpec("disk", "Disk", "Images, volumes and networks on each target, and pruning "
             "what nothing uses."),
    PageSpec("activity", "Activity", "Who did what, when, and to which object."),
    PageSpec("settings", "Settings", "Users and roles, your invitations, and notifications."),
)

# Status-bar text and tooltip for each bus state (``BusState`` values).
_BUS_STATES = {
    "local": ("● Live (this computer)", "Changes appear as they happen."),
    "connected": ("● Live (shared)",
                  "Connected to the shared event stream: changes appear as they happen."),
    "reconnecting": ("◌ Reconnecting…",
                     "The event stream cannot be reached; trying again. Nothing is lost."),
    "stalled": ("⚠ Live updates stopped — restarting…",
                "The reader of live updates stopped unexpectedly and is being restarted; "
                "the log says why. Changes made meanwhile appear once it is back."),
    "closed": ("○ Offline", "Live updates are off."),
}
_SERVER_STATES = {
    "connected": ("● Live (server)", "Changes from {server} appear as they happen."),
    "reconnecting": ("◌ Reconnecting…", "{server} cannot be reached; trying again. What "
                     "the pages show stays until it answers."),
    "closed": ("○ Offline", "Not connected to {server}."),
}


SELECTED_ICON_COLOR = "#ffffff"  # on the highlight, as the selected entry's text


def sidebar_icon(key: str) -> QIcon:
    """The page's icon, drawn in the highlighted text's colour when selected: Qt's own
    selected icon is tinted with the highlight and almost disappears on it."""
    svg = icon_path(key).read_text(encoding="utf-8")
    light = re.sub(r'stroke="#[0-9a-fA-F]{3,6}"', f'stroke="{SELECTED_ICON_COLOR}"', svg)
    icon = QIcon()
    for pixels in (20, 40):  # 40: a 2x screen
        icon.addPixmap(_svg_pixmap(svg, pixels), QIcon.Mode.Normal)
        icon.addPixmap(_svg_pixmap(light, pixels), QIcon.Mode.Selected)
    return icon


def _svg_pixmap(svg: str, pixels: int) -> QPixmap:
    buffer = QBuffer()
    buffer.setData(QByteArray(svg.encode()))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(b"svg"))
    reader.setScaledSize(QSize(pixels, pixels))
    return QPixmap.fromImage(reader.read())


class MainWindow(QMainWindow):
    sig_close_requested = Signal()

    def __init__(self, ui_settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ui_settings = ui_settings
        self.setWindowTitle("WindFlow Desktop")
        self.setWindowIcon(QIcon(str(icon_path("windflow"))))
        self.setMinimumSize(QSize(900, 560))

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setAccessibleName("Pages")
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFixedWidth(190)
        self.pages = QStackedWidget()
        self._page_index: dict[str, int] = {}
        for number, spec in enumerate(PAGES, start=1):
            item = QListWidgetItem(sidebar_icon(spec.key), spec.title)
            item.setToolTip(f"{spec.title} (Ctrl+{number})")
            self.sidebar.addItem(item)
            self._page_index[spec.key] = self.pages.addWidget(
                PlaceholderPage(spec.title, spec.blurb)
            )
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda key=spec.key: self.show_page(key))
        self.sidebar.currentRowChanged.connect(self.pages.setCurrentIndex)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.workspace_label = QLabel("Opening workspace…")
        self.workspace_label.setAccessibleName("Workspace")
        self.bus_label = QLabel("")
        self.bus_label.setAccessibleName("Live updates")
        self.statusBar().addWidget(self.workspace_label, 1)
        self.statusBar().addPermanentWidget(self.bus_label)
        self.sidebar.setCurrentRow(0)
        self._restore_geometry()

    def show_page(self, key: str) -> None:
        self.sidebar.setCurrentRow(self._page_index[key])

    def show_and_raise(self) -> None:
        """Bring the window to the front (from the tray or a notification)."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    def current_page_key(self) -> str:
        index = self.pages.currentIndex()
        return next(k for k, i in self._page_index.items() if i == index)

    def set_page(self, key: str, widget: QWidget) -> None:
        """Put the real page for ``key`` in place of its placeholder."""
        index = self._page_index[key]
        old = self.pages.widget(index)
        self.pages.insertWidget(index, widget)
        if old is not None:
            self.pages.removeWidget(old)
            old.deleteLater()
        self.pages.setCurrentIndex(self.sidebar.currentRow())

    def page(self, key: str) -> QWidget | None:
        return self.pages.widget(self._page_index[key])

    def set_workspace(self, text: str) -> None:
        self.workspace_label.setText(text)

    def set_bus_state(self, state: str, *, server: str = "", reason: str = "") -> None:
        """Show the bus's state (a ``BusState`` value) in the status bar; through a
        ``server``, its own words ("Live (server)"), with ``reason`` when not live."""
        label, tip = (_SERVER_STATES if server else _BUS_STATES).get(state, (state, ""))
        if server:
            tip = tip.format(server=server)
        if reason and state != "connected":
            tip = f"{tip} ({reason})"
        self.bus_label.setText(label)
        self.bus_label.setToolTip(tip)

    def _restore_geometry(self) -> None:
        geometry = self._ui_settings.value("main_window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 740)
        # The page by its key: a page added in a later version shifts no one's place.
        key = self._ui_settings.value("main_window/page_key", "", type=str)
        if key in self._page_index:
            self.sidebar.setCurrentRow(self._page_index[key])

    def save_state(self) -> None:
        self._ui_settings.setValue("main_window/geometry", self.saveGeometry())
        row = self.sidebar.currentRow()
        if 0 <= row < len(PAGES):
            self._ui_settings.setValue("main_window/page_key", PAGES[row].key)
        self._ui_settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        event.ignore()
        self.sig_close_requested.emit()

"""``ConnectionGate``: the one place where "the server cannot be reached" disables the
pages' actions.

Each page keeps enabling its buttons by its own rules (a selection, the caller's role);
the gate holds the buttons that act through the server and, while the connection is
down, keeps them disabled with a tooltip that says why. It remembers what the page asked
for meanwhile (a ``setEnabled`` while offline is noted, not shown), so when the server
answers again every button comes back exactly as its page wants it, with its own tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget

from ...stores.connection import ConnectionStore


class ConnectionGate(QObject):
    """Holds widgets disabled while ``connection`` is offline. What the page wants is kept
    in Qt's own record of an explicit ``setEnabled``: ``WA_ForceDisabled`` (set by
    ``setEnabled(False)``, cleared by ``setEnabled(True)``). The gate disables a widget
    and then puts that record back, so a ``setEnabled(False)`` the page makes meanwhile
    (on a widget already disabled: Qt sends no event) is still known when it opens."""

    def __init__(self, connection: ConnectionStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connection = connection
        self._gated: set[QWidget] = set()
        self._held: dict[QWidget, str] = {}  # held widget -> the tooltip its page gave it
        self._applying = False
        connection.sig_changed.connect(self._apply)

    def hold(self, *widgets: QWidget) -> None:
        """Gate ``widgets`` (buttons that act through the server) from now on."""
        for widget in widgets:
            if widget in self._gated:
                continue
            self._gated.add(widget)
            widget.installEventFilter(self)
            widget.destroyed.connect(lambda _=None, w=widget: self._forget(w))
            if not self.connection.online:
                self._close(widget)

    def _forget(self, widget: QWidget) -> None:
        self._gated.discard(widget)
        self._held.pop(widget, None)

    def _close(self, widget: QWidget) -> None:
        """Offline: disable it (keeping the page's wish), say why."""
        if widget not in self._held:
            self._held[widget] = widget.toolTip()
        wanted = not widget.testAttribute(Qt.WidgetAttribute.WA_ForceDisabled)
        self._applying = True
        try:
            widget.setEnabled(False)
            widget.setAttribute(Qt.WidgetAttribute.WA_ForceDisabled, not wanted)
            widget.setToolTip(self.connection.offline_message)
        finally:
            self._applying = False

    def _open(self, widget: QWidget) -> None:
        """Online again: the page's own tooltip and enabled state."""
        self._applying = True
        try:
            widget.setToolTip(self._held.pop(widget, ""))
            widget.setEnabled(not widget.testAttribute(Qt.WidgetAttribute.WA_ForceDisabled))
        finally:
            self._applying = False

    def _apply(self) -> None:
        for widget in list(self._gated):
            if self.connection.online:
                if widget in self._held:
                    self._open(widget)
            else:
                self._close(widget)  # a new reason: the tooltip says the latest

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._applying or watched not in self._held:
            return False
        assert isinstance(watched, QWidget)
        if event.type() == QEvent.Type.EnabledChange and watched.isEnabled():
            # The page (or a parent) enabled it while offline: noted, kept off.
            self._close(watched)
        elif event.type() == QEvent.Type.ToolTipChange:
            self._held[watched] = watched.toolTip()  # the page's, shown again once online
            self._applying = True
            try:
                watched.setToolTip(self.connection.offline_message)
            finally:
                self._applying = False
        return False

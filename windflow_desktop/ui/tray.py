"""``TrayController``: the system tray icon, its menu, notifications, and what closing
the window means.

With a tray host: an icon per overall state (all good / deploying / failure / target
offline), a menu (show/hide, the last deployments, notifications, quit) and
``showMessage`` for each notification; closing the window hides it to the tray, with a
one-time hint. Without a tray host (offscreen, Xvfb, some desktops): the same
notifications appear as an in-window toast and in the notification centre, and closing
the window quits — nothing else changes.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from ..resources import icon_path
from ..stores.notifications import (
    DeploymentSummary,
    Notification,
    NotificationsStore,
    OverallState,
)
from .views.notifications import NotificationCentre, Toast

log = logging.getLogger("windflow.ui.tray")

HINT_KEY = "tray/hint_shown"
MESSAGE_MS = 8000
_STATUS_MARK = {"succeeded": "✓", "failed": "✗", "rolled_back": "↺", "pending": "…",
                "running": "…", "cancelled": "○", "stopped": "■", "removed": "○"}


def state_icon(state: OverallState) -> QIcon:
    return QIcon(str(icon_path(f"tray-{state.value.replace('target_', '')}")))


class TrayController(QObject):
    """Signals:
    sig_quit_requested(): the user chose Quit, or closed the window with no tray to keep
        the app in (the app should quit).
    sig_open_object(str, str): open what a notification or a menu entry is about
        (aggregate type, id; "" id for "the list of that type").
    sig_centre_requested(): show the notification centre (menu "Notifications…").
    """

    sig_quit_requested = Signal()
    sig_open_object = Signal(str, str)
    sig_centre_requested = Signal()

    def __init__(
        self,
        window: QWidget,
        notifications: NotificationsStore,
        centre: NotificationCentre,
        settings: QSettings,
        *,
        tray_available: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.store = notifications
        self.centre = centre
        self._settings = settings
        available = (QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None
                     else tray_available)
        self.tray: QSystemTrayIcon | None = None
        self.toast: Toast | None = None
        self.menu: QMenu | None = None
        self._deployment_actions: list[QAction] = []
        self._closed = False
        self.messages_shown: list[Notification] = []  # what was shown (tests, logs)
        self._last_message: Notification | None = None
        if available:
            self._build_tray()
        else:
            log.info("no system tray: notifications go to the window and the centre")
            self.toast = Toast(window)
            self.toast.sig_clicked.connect(self._open_notification)
        notifications.sig_notified.connect(self._on_notified)
        notifications.sig_state_changed.connect(self._on_state)
        notifications.sig_deployments_changed.connect(self._rebuild_deployments)
        centre.sig_open_object.connect(self.sig_open_object)

    @property
    def tray_available(self) -> bool:
        return self.tray is not None

    # -- the tray ----------------------------------------------------------------------

    def _build_tray(self) -> None:
        tray = self.tray = QSystemTrayIcon(state_icon(self.store.state), self)
        menu = self.menu = QMenu()
        menu.setAccessibleName("WindFlow tray menu")
        self.toggle_action = menu.addAction("Hide WindFlow")
        self.toggle_action.triggered.connect(self.toggle_window)
        menu.addSeparator()
        self.deployments_header = menu.addAction("Recent deployments")
        self.deployments_header.setEnabled(False)
        self.no_deployments_action = menu.addAction("  None yet")
        self.no_deployments_action.setEnabled(False)
        self._deployments_end = menu.addSeparator()
        self.centre_action = menu.addAction("Notifications…")
        self.centre_action.triggered.connect(self._show_centre)
        menu.addSeparator()
        self.quit_action = menu.addAction("Quit WindFlow")
        self.quit_action.triggered.connect(self.sig_quit_requested)
        menu.aboutToShow.connect(self._sync_toggle)
        tray.setContextMenu(menu)
        tray.activated.connect(self._on_activated)
        tray.messageClicked.connect(self._on_message_clicked)
        self._on_state(self.store.state.value)
        self._rebuild_deployments()
        tray.show()

    def _on_state(self, value: str) -> None:
        state = OverallState(value)
        if self.tray is not None:
            self.tray.setIcon(state_icon(state))
            self.tray.setToolTip(f"WindFlow — {state.label}")

    def _rebuild_deployments(self) -> None:
        if self.menu is None:
            return
        for action in self._deployment_actions:
            self.menu.removeAction(action)
            action.deleteLater()
        self._deployment_actions = []
        deployments = self.store.last_deployments
        self.no_deployments_action.setVisible(not deployments)
        for summary in deployments:
            action = QAction(_deployment_text(summary), self.menu)
            action.triggered.connect(
                lambda _c=False, i=summary.id: self.sig_open_object.emit("deployment", i))
            self.menu.insertAction(self._deployments_end, action)
            self._deployment_actions.append(action)

    def deployment_entries(self) -> list[str]:
        """The texts of the menu's deployment entries, newest first."""
        return [a.text() for a in self._deployment_actions]

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.toggle_window()

    def _sync_toggle(self) -> None:
        visible = self.window.isVisible() and not self.window.isMinimized()
        self.toggle_action.setText("Hide WindFlow" if visible else "Show WindFlow")

    # -- window ------------------------------------------------------------------------

    def show_window(self) -> None:
        self.window.show()
        self.window.setWindowState(self.window.windowState()
                                   & ~Qt.WindowState.WindowMinimized)
        self.window.raise_()
        self.window.activateWindow()

    def toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
        else:
            self.show_window()

    def handle_close_request(self) -> bool:
        """The window's close button: hide to the tray (True: the app keeps running) or,
        with no tray, ask to quit (False, and ``sig_quit_requested`` is emitted)."""
        if self.tray is None:
            self.sig_quit_requested.emit()
            return False
        self.window.hide()
        if not self._settings.value(HINT_KEY, False, type=bool):
            self._settings.setValue(HINT_KEY, True)
            self.tray.showMessage(
                "WindFlow is still running",
                "It keeps watching your deployments and targets from the tray. "
                "Choose Quit WindFlow in the tray menu to exit.",
                QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS)
        return True

    # -- notifications ------------------------------------------------------------------

    def _on_notified(self, n: Notification) -> None:
        if self._closed:
            return
        if self.tray is not None:
            icon = {"info": QSystemTrayIcon.MessageIcon.Information,
                    "warning": QSystemTrayIcon.MessageIcon.Warning,
                    "error": QSystemTrayIcon.MessageIcon.Critical}[n.severity]
            self._last_message = n
            self.messages_shown.append(n)
            self.tray.showMessage(n.title, n.message, icon, MESSAGE_MS)
        elif self.toast is not None:
            self.messages_shown.append(n)
            if self.window.isVisible():
                self.toast.show_notification(n)

    def _on_message_clicked(self) -> None:
        if self._last_message is not None:
            self._open_notification(self._last_message)

    def _open_notification(self, n: Notification) -> None:
        self.show_window()
        self.sig_open_object.emit(n.aggregate_type, n.aggregate_id)

    def _show_centre(self) -> None:
        self.show_window()
        self.sig_centre_requested.emit()

    def close(self) -> None:
        """Hide the icon and stop listening; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.store.sig_notified.disconnect(self._on_notified)
        self.store.sig_state_changed.disconnect(self._on_state)
        self.store.sig_deployments_changed.disconnect(self._rebuild_deployments)
        if self.tray is not None:
            self.tray.hide()
            self.tray.setContextMenu(None)  # type: ignore[arg-type]
        if self.menu is not None:
            self.menu.deleteLater()


def _deployment_text(summary: DeploymentSummary) -> str:
    mark = _STATUS_MARK.get(summary.status, "•")
    return f"{mark}  {summary.title} — {summary.status.replace('_', ' ')}"

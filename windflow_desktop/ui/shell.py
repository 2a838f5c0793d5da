"""``Shell``: the main window's furniture over the stores — every page, the message bar,
the account button, the notification bell and centre, the tray, the theme, the idle lock,
the host-key questions, and "open this object" from a notification, an activity row or
the dashboard."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ..stores.build import Stores
from ..stores.notifications import Notification, NotificationKind
from .dialogs.deploy_stack import DeployDialog
from .dialogs.target_hostkey import HostKeyAnswers
from .idle_lock import IdleLock
from .main_window import PAGES, MainWindow
from .theme import ThemeController
from .tray import TrayController
from .views.access_tokens import AccessTokensPanel
from .views.activity import ActivityPage
from .views.containers import ContainersPage
from .views.dashboard import DashboardPage
from .views.deployments import DeploymentsPage
from .views.disk import DiskPage, DiskTab
from .views.invitations import InvitationsPanel
from .views.notifications import NotificationBell, NotificationCentre, NotificationSettings
from .views.settings import SettingsPage
from .views.stacks import StacksPage
from .views.targets import TargetsPage
from .views.users import UsersPage
from .views.workers import WorkersPanel
from .widgets.account_menu import AccountButton
from .widgets.connection_gate import ConnectionGate
from .widgets.message_bar import MessageBar, keyring_notice


class Shell:
    """Builds the window's pages and furniture over ``stores``; ``quit_asked``: the user
    asked to quit (the tray's Quit)."""

    def __init__(self, window: MainWindow, stores: Stores, ui_settings: QSettings, *,
                 idle_lock_s: float, quit_asked: Callable[[], None],
                 switch_place: Callable[[], None] | None = None,
                 server: str = "", bus_reason: Callable[[], str] | None = None) -> None:
        """``server``: the server this window works through ("" for this computer);
        ``bus_reason``: why the live feed is not live (said in the status bar)."""
        self.window = window
        self.stores = stores
        session = stores.session
        bridge = stores.bridge

        def bus_state(state: str) -> None:
            window.set_bus_state(state, server=server,
                                 reason=bus_reason() if bus_reason is not None else "")

        bridge.sig_bus_state_changed.connect(bus_state)
        bus_state(str(bridge.state))
        self.host_key_answers = HostKeyAnswers(stores.host_keys, window)
        qapp = QApplication.instance()
        assert isinstance(qapp, QApplication)
        self.theme = ThemeController(qapp)
        self.theme.start()

        targets_page = TargetsPage(stores.targets, ui_settings)
        window.set_page("targets", targets_page)
        containers_page = ContainersPage(stores.containers, stores.targets, ui_settings,
                                         detail=stores.container_detail,
                                         terminal=stores.terminal, stats=stores.stats,
                                         adopt=stores.adopt)
        window.set_page("containers", containers_page)
        disk_page = DiskPage(stores.disk, stores.targets, ui_settings)
        window.set_page("disk", disk_page)
        stacks_page = StacksPage(stores.stacks, ui_settings)
        stacks_page.sig_deploy_requested.connect(self._deploy)
        window.set_page("stacks", stacks_page)
        # Names by id from the directory: archived stacks and filtered-out rows too.
        deployments_page = DeploymentsPage(stores.deployments, names=stores.directory.name_of,
                                           ui_settings=ui_settings)
        stores.directory.sig_changed.connect(deployments_page.refresh_names)
        window.set_page("deployments", deployments_page)

        bar = self.message_bar = MessageBar()
        window.setMenuWidget(bar)
        session.sig_keyring_unavailable.connect(lambda message: keyring_notice(bar, message))
        session.sig_shared_database.connect(bar.show_warning)
        bar.bind(session)
        session.sig_session_ended.connect(lambda message: bar.show_error("SESSION_ENDED",
                                                                         message))
        self.idle_lock = IdleLock(session, window, idle_lock_s)
        self.account = AccountButton(session, stores.users, message_bar=bar,
                                     switch_place=switch_place)
        window.statusBar().addPermanentWidget(self.account)

        settings_page = self.settings_page = SettingsPage()
        users_page = UsersPage(stores.users, ui_settings)
        settings_page.add_section("Users & roles", users_page)
        settings_page.add_section("Invitations", InvitationsPanel(stores.users))
        tokens_panel = AccessTokensPanel(stores.access_tokens) if server else None
        if tokens_panel is not None:  # tokens let CI act on a server; not this computer
            settings_page.add_section("Access tokens", tokens_panel)
            workers_panel = WorkersPanel(stores.workers)
            workers = settings_page.add_section("Workers", workers_panel)
            settings_page.tabs.setTabVisible(workers, stores.workers.allowed)
            stores.workers.sig_allowed_changed.connect(
                lambda allowed: settings_page.tabs.setTabVisible(workers, allowed))
        stores.users.sig_invitations_changed.connect(self._invitations_changed)
        window.set_page("settings", settings_page)

        activity_page = ActivityPage(stores.activity, ui_settings)
        window.set_page("activity", activity_page)
        centre = NotificationCentre(stores.notifications)
        bell = self.bell = NotificationBell(stores.notifications, centre)
        window.statusBar().addPermanentWidget(bell)
        tray = self.tray = TrayController(window, stores.notifications, centre, ui_settings)
        tray.sig_quit_requested.connect(quit_asked)
        tray.sig_centre_requested.connect(bell.toggle_centre)
        settings_page.add_section(
            "Notifications",
            NotificationSettings(stores.notifications, tray_available=tray.tray_available),
        )
        self._selectors: dict[str, Callable[[uuid.UUID], object]] = {
            "target": targets_page.select,
            "stack": stacks_page.select_stack,
            "deployment": stores.deployments.select,
        }
        tray.sig_open_object.connect(self.open_object)
        activity_page.sig_open_object.connect(self.open_object)
        dashboard_page = DashboardPage(stores.dashboard, ui_settings, updates=stores.updates,
                                       drift=stores.drift, adopt=stores.adopt)
        stores.updates.sig_found.connect(self._updates_found)
        stores.updates.sig_automatic.connect(self._updated_automatically)
        stores.drift.sig_found.connect(self._drift_found)
        window.set_page("dashboard", dashboard_page)
        dashboard_page.sig_open_object.connect(self.open_object)

        # The server cannot be reached: the actions that act through it wait for it.
        gate = self.gate = ConnectionGate(stores.connection, window)
        gate.hold(targets_page.add_button, targets_page.edit_button,
                  targets_page.delete_button, targets_page.test_button,
                  targets_page.scan_button, targets_page.scan_all_button,
                  *containers_page.buttons.values(), containers_page.logs_button,
                  stacks_page.new_button, stacks_page.import_button, stacks_page.save_button,
                  stacks_page.deploy_button, stacks_page.duplicate_button,
                  stacks_page.archive_button, stacks_page.restore_button,
                  stacks_page.update_policy,
                  *deployments_page.buttons.values(), deployments_page.put_back,
                  users_page.invite_button, users_page.role_button,
                  users_page.active_button, users_page.remove_button)
        for tab in disk_page.tabs.findChildren(DiskTab):
            gate.hold(tab.remove_button, tab.prune_button)
        if containers_page.unmanaged is not None:
            gate.hold(containers_page.unmanaged.adopt_button)
        if dashboard_page.keep_button is not None:
            gate.hold(dashboard_page.keep_button)
        if tokens_panel is not None:
            gate.hold(tokens_panel.new_button, tokens_panel.revoke_button,
                      workers_panel.retry_button)

    def _deploy(self, stack: Any) -> None:
        revision = self.stores.stacks.revision
        if revision is not None:
            DeployDialog(self.stores.deployments, stack, revision, self.window).open()

    def _invitations_changed(self) -> None:
        # Seen on sign-in: joining an organization waits for the user's answer.
        count = len(self.stores.users.invitations)
        if count:
            def show() -> None:
                self.window.show_page("settings")
                self.settings_page.show_section("Invitations")

            self.message_bar.show_message(
                f"{count} organization invitation{'s' if count > 1 else ''} "
                "waiting for your answer", actions=[("Show", show)],
            )

    def _updates_found(self, count: int, first: str) -> None:
        more = f" and {count - 1} more" if count > 1 else ""
        self.stores.notifications.tell(Notification(
            NotificationKind.UPDATES_AVAILABLE, "Image updates available",
            f"A newer image stands behind the tag of {first}{more}", "dashboard", ""))

    def _updated_automatically(self, count: int, first: str, failed: bool) -> None:
        more = f" (and {count - 1} more)" if count > 1 else ""
        if failed:
            self.stores.notifications.tell(Notification(
                NotificationKind.DEPLOYMENT_ROLLED_BACK, "An automatic update stopped",
                f"{first[:1].upper()}{first[1:]}{more}", "dashboard", ""))
        else:
            self.stores.notifications.tell(Notification(
                NotificationKind.UPDATES_AVAILABLE, "Updated automatically",
                f"{first[:1].upper()}{first[1:]}{more}", "dashboard", ""))

    def _drift_found(self, count: int, first: str) -> None:
        more = f" (and {count - 1} more)" if count > 1 else ""
        self.stores.notifications.tell(Notification(
            NotificationKind.DEPLOYMENT_DRIFTED, "A deployment was changed by hand",
            f"{first}{more}", "dashboard", ""))

    def open_object(self, aggregate_type: str, aggregate_id: str) -> None:
        """Show the page of an object (a notification or activity row was opened)."""
        key = {"user": "settings", "membership": "settings", "dashboard": "dashboard"}.get(
            aggregate_type, f"{aggregate_type}s"
        )
        if key in {spec.key for spec in PAGES}:
            self.window.show_page(key)
            self.window.show_and_raise()
        if key == "settings":
            self.settings_page.show_section("Users & roles")
        if aggregate_id and aggregate_type in self._selectors:
            with contextlib.suppress(ValueError):
                self._selectors[aggregate_type](uuid.UUID(aggregate_id))

    def close(self) -> None:
        """Tray, idle lock and theme watcher stop and the shell's widgets leave the window
        (before the stores shut down); the pages stay until the next shell replaces them."""
        self.tray.close()
        self.gate.deleteLater()
        self.idle_lock.shutdown()
        self.theme.stop()
        for widget in (self.account, self.bell):
            self.window.statusBar().removeWidget(widget)
            widget.deleteLater()

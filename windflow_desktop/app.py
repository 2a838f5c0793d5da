"""The composition root: builds settings → database → bus → repositories → services →
stores → main window, and tears them down in reverse.

The window is shown and painted before the heavy imports (SQLAlchemy, Alembic, Redis),
so the first frame comes fast; the workspace opens right after, behind a status line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from . import __version__
from .config import Settings
from .domain.errors import WindFlowError
from .gc_policy import GcPolicy
from .ui.crash import CrashHandler
from .ui.main_window import PAGES, MainWindow
from .ui.qtlog import install_qt_message_handler
from .workspace import Workspace

log = logging.getLogger("windflow.app")
FIRST_PAINT_TIMEOUT_S = 10.0
HOUSEKEEPING_GRACE_S = 3.0


class WindFlowApp:
    """Runs the app until the user quits (or, in smoke mode, until the workspace is open)."""

    def __init__(
        self,
        settings: Settings,
        *,
        smoke: bool = False,
        started: float,
        secrets: Any = None,
        watch_health: bool = True,
    ) -> None:
        self.settings = settings
        self.watch_health = watch_health
        self.smoke = smoke
        self.started = started
        self.quit_requested = asyncio.Event()
        self.crash = CrashHandler(
            dialogs=False if smoke else None, on_interrupt=self.quit_requested.set
        )
        self.window: MainWindow | None = None
        self.workspace = Workspace(settings, secrets=secrets)
        self.bridge: Any = None
        self.session: Any = None
        self.message_bar: Any = None
        self.stores: list[Any] = []
        self.health: Any = None
        self.tray: Any = None
        self.idle_lock: Any = None
        self.reconcile: asyncio.Future[Any] | None = None
        self.theme: Any = None
        self.ui_settings: Any = None
        self.gc_policy = GcPolicy()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.crash.install(loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Ctrl+C or a polite kill: leave through the same teardown as the Quit menu.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.quit_requested.set)
        try:
            return await self._run()
        finally:
            if self.reconcile is not None:
                # Let housekeeping finish its database work; cancel only what lingers.
                await asyncio.wait({self.reconcile}, timeout=HOUSEKEEPING_GRACE_S)
                self.reconcile.cancel()
                await asyncio.gather(self.reconcile, return_exceptions=True)
            if self.tray is not None:
                self.tray.close()
            if self.idle_lock is not None:
                self.idle_lock.shutdown()
            if self.theme is not None:
                self.theme.stop()
            if self.health is not None:
                await self.health.stop()
            for store in reversed(self.stores):
                await store.shutdown()
            if self.bridge is not None:
                self.bridge.close()
            await self.workspace.close()
            if self.window is not None:
                self.window.save_state()
                self.window.deleteLater()
            self.gc_policy.stop()
            self.crash.uninstall()
            log.info("stopped")

    async def _run(self) -> int:
        ui_settings = QSettings(
            str(self.settings.home / "ui.ini"), QSettings.Format.IniFormat
        )
        self.ui_settings = ui_settings
        window = self.window = MainWindow(ui_settings)
        window.sig_close_requested.connect(self._close_requested)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.quit_requested.set)
        window.show()
        await first_paint(window)
        ready_ms = process_age_ms(self.started)
        log.info("first window painted after %.0f ms", ready_ms)
        try:
            await self.workspace.open()
        except WindFlowError as exc:
            return await self._fatal(exc)
        window.set_workspace(f"Workspace: {self.workspace.description}")
        self._bind(window)
        await self.workspace.start_bus()
        if self.workspace.keyring_missing:
            self._notice_no_keyring()
        for notice in self.settings.notices:
            log.warning("%s", notice)
            self.message_bar.show_warning(notice)
        # Deployments a dead process left running are settled against their targets, in
        # the background: an unreachable target must not hold the window up.
        self.reconcile = asyncio.ensure_future(self.workspace.housekeeping())
        self.reconcile.add_done_callback(_report_housekeeping)
        # Everything built so far lives until exit: frozen out of the collector's sight;
        # from now on full collections wait for quiet moments (see gc_policy).
        self.gc_policy.start()
        if self.smoke:
            print(json.dumps({"ready_ms": round(ready_ms), "version": __version__}), flush=True)
            return 0
        if self.watch_health:
            self.health.start()
        while await self._sign_in():
            if await self._until_signed_out_or_quit():
                break
        return 0

    async def _sign_in(self) -> bool:
        """Restore the remembered session, or ask (first run or login); False: user quit."""
        from PySide6.QtWidgets import QDialog

        from .ui.dialogs.first_run import FirstRunDialog
        from .ui.dialogs.login import LoginDialog

        session, window = self.session, self.window
        needs_setup = await session.check_setup()
        if needs_setup is None:  # the check failed; the message bar says why
            return await self._wait_quit_returning(False)
        if not needs_setup and await session.restore_remembered() is not None:
            return True
        dialog = (
            FirstRunDialog(session, parent=window)
            if needs_setup
            else LoginDialog(session, workspace=self.workspace.description, parent=window)
        )
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not done.done():
                done.set_result(result)

        dialog.finished.connect(finished)
        dialog.open()
        quit_wait: asyncio.Future[Any] = asyncio.ensure_future(self.quit_requested.wait())
        await asyncio.wait([done, quit_wait], return_when=asyncio.FIRST_COMPLETED)
        quit_wait.cancel()
        if not done.done():
            dialog.reject()
            return False
        return done.result() == QDialog.DialogCode.Accepted and session.signed_in

    async def _until_signed_out_or_quit(self) -> bool:
        """Wait while signed in; True when the user quits, False when they signed out."""
        signed_out = asyncio.Event()

        def changed() -> None:
            if not self.session.signed_in:
                signed_out.set()

        self.session.sig_session_changed.connect(changed)
        try:
            waits = {
                asyncio.ensure_future(self.quit_requested.wait()),
                asyncio.ensure_future(signed_out.wait()),
            }
            _done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            self.session.sig_session_changed.disconnect(changed)
        return self.quit_requested.is_set()

    async def _wait_quit_returning(self, value: bool) -> bool:
        await self.quit_requested.wait()
        return value

    def _close_requested(self) -> None:
        """The window's close button: the tray keeps the app running where there is one."""
        if self.tray is not None:
            self.tray.handle_close_request()
        else:
            self._quit_asked()

    def _quit_asked(self) -> None:
        """The user asked to quit (tray Quit, or closing the window with no tray): unsaved
        stack edits are asked about first (Save / Discard / Cancel)."""
        try:
            stacks = self.window.page("stacks") if self.window is not None else None
        except KeyError:  # not bound yet (quitting from the sign-in)
            stacks = None
        ask = getattr(stacks, "ask_before_leaving", None)
        if ask is None:
            self.quit_requested.set()
        else:
            ask(self.quit_requested.set)

    def _bind(self, window: MainWindow) -> None:
        """Build the stores over the services and bind the window to them."""
        from .engine import HealthMonitor
        from .stores.activity import ActivityStore
        from .stores.containers import ContainersStore
        from .stores.dashboard import DashboardStore
        from .stores.deployments import DeploymentsStore
        from .stores.directory import DirectoryStore
        from .stores.event_bridge import EventBridge
        from .stores.notifications import NotificationsStore
        from .stores.session import SessionStore
        from .stores.stacks import StacksStore
        from .stores.targets import TargetsStore
        from .stores.users import UsersStore
        from .ui.dialogs.deploy_stack import DeployDialog
        from .ui.idle_lock import IdleLock
        from .ui.theme import ThemeController
        from .ui.tray import TrayController
        from .ui.views.activity import ActivityPage
        from .ui.views.containers import ContainersPage
        from .ui.views.dashboard import DashboardPage
        from .ui.views.deployments import DeploymentsPage
        from .ui.views.invitations import InvitationsPanel
        from .ui.views.notifications import (
            NotificationBell,
            NotificationCentre,
            NotificationSettings,
        )
        from .ui.views.settings import SettingsPage
        from .ui.views.stacks import StacksPage
        from .ui.views.targets import TargetsPage
        from .ui.views.users import UsersPage
        from .ui.widgets.account_menu import AccountButton
        from .ui.widgets.message_bar import MessageBar, keyring_notice

        services = self.workspace.services
        list_targets = self._list_targets
        bridge = self.bridge = EventBridge(self.workspace.bus, parent=window)
        bridge.sig_bus_state_changed.connect(window.set_bus_state)
        window.set_bus_state(str(bridge.state))

        session = self.session = SessionStore(services.auth, parent=window)
        users = UsersStore(session, services.users, services.organizations)
        targets = TargetsStore(services.targets, session)
        containers = ContainersStore(services.containers, session)
        self.workspace.pool.confirm_host_key = targets.confirm_host_key
        stacks = StacksStore(session, services.stacks)
        deployments = DeploymentsStore(session, services.deployments, list_targets)
        activity = ActivityStore(session, services.activity)
        notifications = NotificationsStore(self.ui_settings)
        dashboard = DashboardStore(session, services.dashboard)
        directory = DirectoryStore(session, services.targets, services.stacks)
        self.stores = [session, users, targets, containers, stacks, deployments, activity,
                       dashboard, directory]
        for store in (users, targets, containers, stacks, deployments, activity, notifications,
                      dashboard, directory):
            bridge.sig_events_received.connect(store.apply_events)
        self.gc_policy.watch(bridge.sig_events_received)
        for store in self.stores:
            self.gc_policy.watch(store.sig_busy_changed)

        def organization_changed() -> None:
            principal = session.principal
            org = principal.organization_id if principal is not None else None
            notifications.set_organization(str(org) if org else None)

        session.sig_session_changed.connect(organization_changed)
        qapp = QApplication.instance()
        assert isinstance(qapp, QApplication)
        self.theme = ThemeController(qapp)
        self.theme.start()
        self.health = HealthMonitor(
            targets.health_round, interval_s=self.settings.health_interval_s
        )

        def fleet_loaded() -> None:
            # Check the fleet as soon as it is known (after sign-in), then every interval.
            if targets.loaded and self.watch_health:
                self.health.run_now()

        targets.sig_targets_reset.connect(fleet_loaded)
        targets_page = TargetsPage(targets, self.ui_settings)
        window.set_page("targets", targets_page)
        window.set_page("containers", ContainersPage(containers, targets, self.ui_settings))
        stacks_page = StacksPage(stacks, self.ui_settings)

        def deploy(stack: Any) -> None:
            if stacks.revision is not None:
                DeployDialog(deployments, stack, stacks.revision, window).open()

        stacks_page.sig_deploy_requested.connect(deploy)
        window.set_page("stacks", stacks_page)

        # Names by id from the directory: archived stacks and filtered-out rows too.
        deployments_page = DeploymentsPage(deployments, names=directory.name_of,
                                           ui_settings=self.ui_settings)
        directory.sig_changed.connect(deployments_page.refresh_names)
        window.set_page("deployments", deployments_page)

        bar = self.message_bar = MessageBar()
        window.setMenuWidget(bar)
        session.sig_keyring_unavailable.connect(lambda message: keyring_notice(bar, message))
        session.sig_shared_database.connect(bar.show_warning)
        bar.bind(session)
        # A service that refuses the session (ended elsewhere) signs this window out: the
        # sign-in prompt follows, with the reason in the bar. Queued: after the action.
        session.watch(*self.stores)
        session.sig_session_ended.connect(lambda message: bar.show_error("SESSION_ENDED",
                                                                         message))
        self.idle_lock = IdleLock(session, window, self.settings.idle_lock_s)
        window.statusBar().addPermanentWidget(
            AccountButton(session, users, message_bar=bar)
        )
        settings_page = SettingsPage()
        settings_page.add_section("Users & roles", UsersPage(users, self.ui_settings))
        settings_page.add_section("Invitations", InvitationsPanel(users))

        def invitations_changed() -> None:
            # Seen on sign-in: joining an organization waits for the user's answer.
            count = len(users.invitations)
            if count:
                def show() -> None:
                    window.show_page("settings")
                    settings_page.show_section("Invitations")

                bar.show_message(
                    f"{count} organization invitation{'s' if count > 1 else ''} "
                    "waiting for your answer", actions=[("Show", show)],
                )

        users.sig_invitations_changed.connect(invitations_changed)
        window.set_page("settings", settings_page)

        activity_page = ActivityPage(activity, self.ui_settings)
        window.set_page("activity", activity_page)
        centre = NotificationCentre(notifications)
        bell = NotificationBell(notifications, centre)
        window.statusBar().addPermanentWidget(bell)
        tray = self.tray = TrayController(window, notifications, centre, self.ui_settings)
        tray.sig_quit_requested.connect(self._quit_asked)
        tray.sig_centre_requested.connect(bell.toggle_centre)
        settings_page.add_section(
            "Notifications",
            NotificationSettings(notifications, tray_available=tray.tray_available),
        )
        selectors: dict[str, Callable[[uuid.UUID], object]] = {
            "target": targets_page.select,
            "stack": stacks_page.select_stack,
            "deployment": deployments.select,
        }

        def open_object(aggregate_type: str, aggregate_id: str) -> None:
            """Show the page of an object (a notification or activity row was opened)."""
            key = {"user": "settings", "membership": "settings"}.get(
                aggregate_type, f"{aggregate_type}s"
            )
            if key in {spec.key for spec in PAGES}:
                window.show_page(key)
                window.show_and_raise()
            if key == "settings":
                settings_page.show_section("Users & roles")
            if aggregate_id and aggregate_type in selectors:
                with contextlib.suppress(ValueError):
                    selectors[aggregate_type](uuid.UUID(aggregate_id))

        tray.sig_open_object.connect(open_object)
        activity_page.sig_open_object.connect(open_object)
        dashboard_page = DashboardPage(dashboard, self.ui_settings)
        window.set_page("dashboard", dashboard_page)
        dashboard_page.sig_open_object.connect(open_object)

    async def _list_targets(self, principal: Any) -> Any:
        page = await self.workspace.services.targets.list_targets(principal)
        return page.items

    def _notice_no_keyring(self) -> None:
        from .security.secrets import NO_KEYRING_MESSAGE

        self.message_bar.show_warning(
            NO_KEYRING_MESSAGE,
            actions=(("Continue without remembering", lambda: None),),
        )

    async def _fatal(self, exc: WindFlowError) -> int:
        log.error("cannot start: %s", exc)
        print(f"windflow-desktop: {exc.message}", file=sys.stderr, flush=True)
        if not self.smoke and self.crash.dialogs and self.window is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "WindFlow Desktop cannot start",
                              exc.message, parent=self.window)
            box.finished.connect(lambda _r: self.quit_requested.set())
            box.open()
            await self.quit_requested.wait()
        return 2


def _report_housekeeping(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("start-up housekeeping failed", exc_info=task.exception())


class _PaintWatcher(QObject):
    def __init__(self, future: asyncio.Future[None]) -> None:
        super().__init__()
        self.future = future

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.future.done():
            # Resolve after this paint has been flushed to the screen.
            asyncio.get_running_loop().call_soon(self._resolve)
        return False

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


async def first_paint(window: MainWindow) -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    watcher = _PaintWatcher(future)
    window.installEventFilter(watcher)
    try:
        await asyncio.wait_for(future, FIRST_PAINT_TIMEOUT_S)
    except TimeoutError:
        log.warning("no paint event within %.0f s", FIRST_PAINT_TIMEOUT_S)
    finally:
        window.removeEventFilter(watcher)


def process_age_ms(started: float) -> float:
    """Milliseconds since the process started (the kernel's clock on Linux).

    Elsewhere, since ``started`` (a ``time.monotonic()`` taken first thing in ``main``).
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            up_s = float(uptime.read().split()[0])
        return (up_s - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return (time.monotonic() - started) * 1000


def run_app(settings: Settings, *, smoke: bool, started: float) -> int:
    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("WindFlow Desktop")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("WindFlow")
    app.setDesktopFileName("windflow-desktop")
    app.setQuitOnLastWindowClosed(False)
    install_qt_message_handler()
    try:
        return int(qasync.run(WindFlowApp(settings, smoke=smoke, started=started).run()))
    except Exception as exc:  # a bug: full details to the log, one line to the user
        log.critical("unexpected error, the app stops", exc_info=True)
        print(
            f"windflow-desktop: unexpected error ({type(exc).__name__}: {exc}); "
            f"the details are in {settings.log_dir / 'windflow.log'}",
            file=sys.stderr,
        )
        return 1

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
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from . import __version__
from .config import Settings
from .domain.errors import WindFlowError
from .gc_policy import GcPolicy
from .stores.host_keys import HostKeyQuestions
from .ui.crash import CrashHandler
from .ui.dialogs.place import Place, load_place, save_place
from .ui.main_window import MainWindow
from .ui.qtlog import install_qt_message_handler
from .workspace import Workspace

if TYPE_CHECKING:
    from .stores.build import Stores
    from .ui.shell import Shell

log = logging.getLogger("windflow.app")
FIRST_PAINT_TIMEOUT_S = 10.0
HOUSEKEEPING_GRACE_S = 3.0
DRIFT_INTERVAL_S = 300.0  # how often the deployments are compared with their targets
CHANGE_PLACE = 2  # the sign-in dialog's result when the user chose another place


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
        # The host-key question of any SSH connection, asked by the executor pool (built
        # with the workspace) and answered by the window (built later, by the shell).
        self.host_keys = HostKeyQuestions()
        self._secrets = secrets
        # Below the stores: this computer's workspace, or a connection to a server.
        self.workspace: Any = None
        self.place: Place = Place()
        self._next_place: Place | None = None
        self.stores: Stores | None = None
        self.session: Any = None
        self.shell: Shell | None = None
        self.message_bar: Any = None
        self.reconcile: asyncio.Future[Any] | None = None
        self.ui_settings: Any = None
        self.gc_policy = GcPolicy()
        self._tasks: set[asyncio.Future[Any]] = set()  # dialogs' helpers, kept alive

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
            await self._unbind()
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
        token = os.environ.get("WINDFLOW_SERVER_TOKEN", "") if self.smoke else ""
        place = smoke_place() if self.smoke else load_place(ui_settings)
        while True:
            try:
                await self._open(place)
            except WindFlowError as exc:
                if place.local or self.smoke:
                    return await self._fatal(exc)
                # A server that cannot be reached: say why and let the user choose.
                await self._unbind()
                chosen = await self._ask_place(place, problem=exc.message)
                if chosen is None:
                    return 0
                place = chosen
                continue
            self._bind(window)
            await self._started()
            if self.smoke:
                if token:
                    try:
                        await self._smoke_sign_in(token)
                    except WindFlowError as exc:
                        return await self._fatal(exc)
                    ready_ms = process_age_ms(self.started)
                print(json.dumps({"ready_ms": round(ready_ms), "version": __version__}),
                      flush=True)
                return 0
            if not await self._work_here():
                return 0
            await self._unbind()
            place = self._next_place or Place()

    async def _open(self, place: Place) -> None:
        """Open this computer's workspace or connect to a server (``self.workspace``)."""
        self.place = place
        if place.local:
            self.workspace = Workspace(self.settings, secrets=self._secrets,
                                       confirm_host_key=self.host_keys.ask)
        else:
            from .remote.connection import ServerConnection

            self.workspace = ServerConnection(place.server, await self._keyring(),
                                              username=place.username,
                                              ca_file=place.ca_file or None)
        await self.workspace.open()
        if not self.smoke:
            save_place(self.ui_settings, place)

    async def _keyring(self) -> Any:
        """The OS keyring (a server's refresh token is kept there), or this process's
        memory when there is none (signing in again is then due at each start)."""
        from .security.secrets import SecretStore

        secrets = self._secrets or SecretStore()
        if not await secrets.aavailable():
            return SecretStore.memory_only()
        return secrets

    async def _started(self) -> None:
        """Once the stores and windows stand: the bus, notices, housekeeping."""
        assert self.window is not None
        self.window.set_workspace(self.workspace.description if not self.place.local
                                  else f"Workspace: {self.workspace.description}")
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

    async def _work_here(self) -> bool:
        """Sign in and work until the user quits (False) or chose another place (True)."""
        self._next_place = None
        while True:
            outcome = await self._sign_in()
            if outcome is not True:
                return outcome is not False  # a Place: work there instead
            await self.workspace.signed_in()
            if await self._until_signed_out_or_quit():
                return False
            if self._next_place is not None:  # "Switch workspace or server…"
                return True

    async def _unbind(self) -> None:
        """Take the stores and windows down, then what stands below them."""
        if self.reconcile is not None:
            # Let housekeeping finish its database work; cancel only what lingers.
            await asyncio.wait({self.reconcile}, timeout=HOUSEKEEPING_GRACE_S)
            self.reconcile.cancel()
            await asyncio.gather(self.reconcile, return_exceptions=True)
            self.reconcile = None
        if self.shell is not None:
            self.shell.close()
            self.shell = None
        if self.stores is not None:
            await self.stores.shutdown()
            self.stores = None
        if self.workspace is not None:
            await self.workspace.close()

    async def _smoke_sign_in(self, token: str) -> None:
        """``--smoke`` against a server: sign in with the access token, wait until the
        first page has painted the server's data."""
        assert self.stores is not None and self.window is not None
        loaded = asyncio.Event()
        self.stores.dashboard.sig_summary_changed.connect(
            lambda: loaded.set() if self.stores and self.stores.dashboard.summary else None)
        auth = self.workspace.services.auth
        self.stores.session.use(await auth.sign_in_with_token(token))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loaded.wait(), FIRST_PAINT_TIMEOUT_S)
        self.window.show_page("dashboard")
        self.window.update()
        await first_paint(self.window)

    async def _ask_place(self, current: Place, *, problem: str = "") -> Place | None:
        """Where to work, asked over the window; None: the user cancelled."""
        from PySide6.QtWidgets import QDialog

        from .ui.dialogs.place import PlaceDialog, recent_servers

        dialog = PlaceDialog(current, recent_servers(self.ui_settings), problem=problem,
                             parent=self.window)
        result = await self._until_closed(dialog)
        return dialog.place if result == QDialog.DialogCode.Accepted else None

    async def _until_closed(self, dialog: Any) -> int | None:
        """Open ``dialog`` (never ``exec``) and wait for its result; None: the app quit."""
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
            return None
        return done.result()

    async def _sign_in(self) -> bool | Place:
        """Restore the remembered session, or ask (first run or login); False: the user
        quit; a ``Place``: they chose to work somewhere else."""
        from PySide6.QtWidgets import QDialog

        from .ui.dialogs.first_run import FirstRunDialog
        from .ui.dialogs.login import LoginDialog

        session, window = self.session, self.window
        needs_setup = await session.check_setup()
        if needs_setup is None:  # the check failed; the message bar says why
            return await self._wait_quit_returning(False)
        if not needs_setup and await session.restore_remembered() is not None:
            return True
        dialog: Any = None

        def change_place() -> None:
            self._spawn(self._change_place(dialog))

        where = (self.workspace.description if not self.place.local
                 else str(self.workspace.description))
        dialog = (
            FirstRunDialog(session, parent=window, on_change_place=change_place)
            if needs_setup
            else LoginDialog(session, workspace=where, parent=window,
                             on_change_place=change_place)
        )
        result = await self._until_closed(dialog)
        if result is None:
            return False
        if result == CHANGE_PLACE and self._next_place is not None:
            return self._next_place
        return result == QDialog.DialogCode.Accepted and session.signed_in

    async def _change_place(self, sign_in: Any) -> None:
        """"Change…" in the sign-in: another place closes the sign-in to go there."""
        chosen = await self._ask_place(self.place)
        if chosen is not None and chosen != self.place and sign_in.isVisible():
            self._next_place = chosen
            sign_in.done(CHANGE_PLACE)

    def switch_place(self) -> None:
        """The account menu's "Switch workspace or server…": sign out, then choose."""
        async def switch() -> None:
            chosen = await self._ask_place(self.place)
            if chosen is not None and chosen != self.place:
                self._next_place = chosen
                self.session.logout()

        self._spawn(switch())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        if self.shell is not None:
            self.shell.tray.handle_close_request()
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
        """Build the stores over the services and the window's shell over the stores."""
        from .stores.build import build_stores
        from .ui.shell import Shell

        stores = self.stores = build_stores(
            self.workspace.services, self.workspace.bus, self.ui_settings,
            host_keys=self.host_keys,
            # Through a server, the server checks the fleet.
            health_interval_s=(self.settings.health_interval_s
                               if self.watch_health and self.place.local else None),
            updates_interval_s=self.settings.updates_interval_s if self.watch_health else None,
            drift_interval_s=DRIFT_INTERVAL_S if self.watch_health else None,
            server=self.place.server,
            parent=window,
        )
        self.session = stores.session
        self.gc_policy.watch(stores.bridge.sig_events_received)
        for store in stores.acting:
            self.gc_policy.watch(store.sig_busy_changed)
        bus = self.workspace.bus
        self.shell = Shell(window, stores, self.ui_settings,
                           idle_lock_s=self.settings.idle_lock_s, quit_asked=self._quit_asked,
                           switch_place=self.switch_place, server=self.place.server,
                           bus_reason=lambda: str(getattr(bus, "reason", "") or ""))
        self.message_bar = self.shell.message_bar

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


def smoke_place() -> Place:
    """``--smoke``: a server when ``WINDFLOW_SERVER_URL`` names one, else this computer."""
    return Place(os.environ.get("WINDFLOW_SERVER_URL", "").strip().rstrip("/"))


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

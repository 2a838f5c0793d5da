"""The workspace: database → bus → secrets → executor pool → services, built in order
and closed in reverse. No Qt here (the app's window sits on top of it; a test or a CLI
builds the same graph). The heavy imports happen in ``Workspace.open`` so that the app
can paint its first frame before them."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .private_files import private_sqlite_file

if TYPE_CHECKING:
    from .services.access_tokens import AccessTokenService
    from .services.activity import ActivityService
    from .services.adopt import AdoptService
    from .services.auth import AuthService
    from .services.common import ServiceContext
    from .services.containers import ContainerService
    from .services.dashboard import DashboardService
    from .services.deployments import DeploymentService
    from .services.disk import DiskService
    from .services.drift import DriftService
    from .services.organizations import OrganizationService
    from .services.stacks import StackService
    from .services.stats import StatsService
    from .services.targets import TargetService
    from .services.terminal import TerminalService
    from .services.update_policy import UpdateSweepService
    from .services.updates import UpdateService
    from .services.users import UserService
    from .services.workers import LocalWorkers

log = logging.getLogger("windflow.app")


class Workspace:
    """Everything below the stores — database, bus, secrets, services — built in order
    and closed in reverse. No Qt here: a CLI or a test builds the same graph."""

    def __init__(self, settings: Settings, *, secrets: Any = None,
                 sealed_secrets: bool = False, database_clock: bool = False,
                 confirm_host_key: Any = None, bus_group: str = "",
                 scheduled_updates: bool = False) -> None:
        """``secrets``: a store to use instead of the OS keyring (tests);
        ``confirm_host_key``: who answers "trust this new SSH host key?" (no one: no);
        ``sealed_secrets``: secrets sealed in the database under the server's key (a
        server, which has no keyring); ``database_clock``: time read from the database
        (a server and its workers, on machines whose clocks may differ); ``bus_group``: a
        suffix for this process's consumer group on a Redis bus (``windflow worker``s
        share the server's data folder, so its client id: in the server's group they would
        take, and drop, the events its live feed must send); ``scheduled_updates``: the
        update checks run on a schedule of this process (a server): ``latest`` answers the
        schedule's round."""
        self.settings = settings
        self._stack = contextlib.AsyncExitStack()
        self._secrets = secrets
        self._sealed = sealed_secrets
        self._database_clock = database_clock
        self._confirm_host_key = confirm_host_key
        self._bus_group = bus_group
        self._scheduled_updates = scheduled_updates
        self.clock: Any = None
        self.backend: Any = None
        self.bus: Any = None
        self.secrets: Any = None
        self.services: Services = None  # type: ignore[assignment]  # until open()
        self.pool: Any = None
        self.keyring_missing = False

    async def open(self) -> None:
        from .domain.models import utcnow
        from .engine import ExecutorPool, KnownHosts
        from .events.factory import create_bus
        from .repositories.sql.backend import SqlBackend
        from .security.secrets import SecretStore
        from .services.access_tokens import AccessTokenService
        from .services.activity import ActivityService
        from .services.adopt import AdoptService
        from .services.auth import AuthService
        from .services.common import ServiceContext
        from .services.containers import ContainerService
        from .services.dashboard import DashboardService
        from .services.database_clock import DatabaseClock
        from .services.deploy.core import DeploymentCore
        from .services.deployments import DeploymentService
        from .services.disk import DiskService
        from .services.drift import DriftService
        from .services.organizations import OrganizationService
        from .services.stacks import StackService
        from .services.stats import StatsService
        from .services.targets import TargetService
        from .services.terminal import TerminalService
        from .services.update_policy import UpdateSweepService
        from .services.updates import UpdateService
        from .services.users import UserService
        from .services.workers import LocalWorkers

        try:
            database_file = sqlite_file(self.settings.database_url)
            if database_file is not None:
                private_sqlite_file(database_file)
            self.backend = SqlBackend(self.settings.database_url)
            self._stack.push_async_callback(self.backend.close)
            await self.backend.open()
            installation = client_id(self.settings.home)
            self.bus = create_bus(self.settings.redis_url, installation + self._bus_group)
            self._stack.push_async_callback(self.bus.close)
            self.secrets = self._secrets or (
                self._sealed_store() if self._sealed else SecretStore())
            if not await self.secrets.aavailable():
                # Never secrets in clear: without a keyring they live in this process only.
                log.warning("no keyring backend: secrets are kept in memory for this session")
                self.keyring_missing = True
                self.secrets = SecretStore.memory_only()
            self.pool = ExecutorPool(
                KnownHosts(self.settings.home / "known_hosts"), self.secrets.aget,
                confirm_host_key=self._confirm_host_key,
            )
            self._stack.push_async_callback(self.pool.close)
            self.clock = utcnow
            if self._database_clock:
                self.clock = DatabaseClock(self.backend)
                await self.clock.sync()
            context = ServiceContext(self.backend, self.bus, clock=self.clock)
            core = DeploymentCore(self.backend, self.bus, self.pool, self.secrets,
                                  clock=self.clock)
            deployments = DeploymentService(context, core, self.secrets)
            updates = UpdateService(context, self.pool, self.secrets)
            self.services = Services(
                context=context,
                auth=AuthService(
                    context, self.secrets, client_id=installation,
                    access_ttl=timedelta(seconds=self.settings.access_token_ttl_s)),
                access_tokens=AccessTokenService(context),
                users=UserService(context),
                organizations=OrganizationService(context, self.secrets),
                targets=TargetService(context, self.secrets, self.pool),
                containers=ContainerService(context, self.pool, self.secrets),
                disk=DiskService(context, self.pool),
                updates=updates,
                update_sweeps=UpdateSweepService(context, updates, deployments,
                                                 watching=core.watching,
                                                 scheduled=self._scheduled_updates),
                drift=DriftService(context, self.pool),
                adopt=AdoptService(context, self.pool, self.secrets),
                terminal=TerminalService(context, self.pool),
                stats=StatsService(context, self.pool),
                stacks=StackService(context),
                activity=ActivityService(context),
                dashboard=DashboardService(context),
                deployments=deployments,
                workers=LocalWorkers(deployments),
            )
            self._stack.push_async_callback(self.services.deployments.shutdown)
        except BaseException:
            await self.close()
            raise

    def _sealed_store(self) -> Any:
        from .security.sealing import Sealer, load_keys
        from .services.sealed_secrets import SealedSecretStore

        return SealedSecretStore(self.backend, Sealer(load_keys(self.settings.home)))

    async def start_bus(self) -> None:
        """Connect the bus (after its listeners subscribed, so none misses the first state)."""
        await self.bus.start()

    async def signed_in(self) -> None:
        """Someone signed in: the local bus runs already; nothing more to start."""

    async def housekeeping(self) -> None:
        """Work left by earlier runs: unfinished deployments, expired session records."""
        await self.services.deployments.reconcile_unfinished()
        await self.services.auth.purge_expired_sessions()

    @property
    def description(self) -> str:
        """Where the workspace lives, for people: a file path or a database URL."""
        if self.backend is None:
            return ""
        url = str(self.backend.description)
        return url.split(":///", 1)[1] if url.startswith("sqlite") else url.replace(
            "+asyncpg", ""
        )

    async def close(self) -> None:
        await self._stack.aclose()


@dataclass
class Services:
    """The local services (they satisfy ``services.protocols.ServiceApis``)."""

    context: ServiceContext
    auth: AuthService
    access_tokens: AccessTokenService
    users: UserService
    organizations: OrganizationService
    targets: TargetService
    containers: ContainerService
    stacks: StackService
    deployments: DeploymentService
    activity: ActivityService
    dashboard: DashboardService
    disk: DiskService
    updates: UpdateService
    update_sweeps: UpdateSweepService
    drift: DriftService
    adopt: AdoptService
    terminal: TerminalService
    stats: StatsService
    workers: LocalWorkers


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for another database or in memory)."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def client_id(home: Path) -> str:
    """This installation's id (names its Redis consumer group; stable across restarts)."""
    path = home / "client-id"
    try:
        return path.read_text(encoding="ascii").strip() or _new_client_id(path)
    except (OSError, UnicodeDecodeError):
        return _new_client_id(path)


def _new_client_id(path: Path) -> str:
    value = f"desktop-{uuid.uuid4().hex[:12]}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value)
    return value

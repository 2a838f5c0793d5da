"""``build_stores(services, bus, ui_settings)``: every store of one window over the
services (local or a server's) and the event bus, wired to each other and to the bus.

The stores are built in the order they depend on each other (the session first) and shut
down in reverse (``Stores.shutdown``). Each one receives the bus's events in batches (one
per frame) through the ``EventBridge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings

from ..domain.events import CLIENT_RESYNC, Event
from ..domain.identity import Principal
from ..domain.models import Target
from ..events.protocol import EventBus
from ..services.protocols import ServiceApis
from .access_tokens import AccessTokensStore
from .activity import ActivityStore
from .adopt import AdoptStore
from .base import OrganizationStore, Store
from .connection import ConnectionStore
from .container_detail import ContainerDetailStore
from .containers import ContainersStore
from .dashboard import DashboardStore
from .deployments import DeploymentsStore
from .directory import DirectoryStore
from .disk import DiskStore
from .event_bridge import EventBridge
from .host_keys import HostKeyQuestions
from .notifications import NotificationsStore
from .session import SessionStore
from .stacks import StacksStore
from .stats import StatsStore
from .targets import TargetsStore
from .terminal import TerminalStore
from .updates import DriftStore, UpdatesStore
from .users import UsersStore
from .workers import WorkersStore


@dataclass(frozen=True)
class Stores:
    bridge: EventBridge
    host_keys: HostKeyQuestions
    access_tokens: AccessTokensStore
    session: SessionStore
    users: UsersStore
    targets: TargetsStore
    containers: ContainersStore
    stacks: StacksStore
    deployments: DeploymentsStore
    activity: ActivityStore
    notifications: NotificationsStore
    dashboard: DashboardStore
    directory: DirectoryStore
    disk: DiskStore
    updates: UpdatesStore
    drift: DriftStore
    container_detail: ContainerDetailStore
    terminal: TerminalStore
    stats: StatsStore
    connection: ConnectionStore
    workers: WorkersStore
    adopt: AdoptStore

    @property
    def acting(self) -> tuple[Store, ...]:
        """The stores that run actions (watched for "busy", shut down at exit)."""
        return (self.session, self.access_tokens, self.users, self.targets,
                self.containers, self.stacks, self.deployments, self.activity,
                self.dashboard, self.directory, self.disk, self.container_detail,
                self.updates, self.drift, self.terminal,
                self.stats, self.workers, self.adopt)

    async def shutdown(self) -> None:
        for store in reversed(self.acting):
            await store.shutdown()
        self.bridge.close()


def build_stores(services: ServiceApis, bus: EventBus, ui_settings: QSettings, *,
                 host_keys: HostKeyQuestions, health_interval_s: float | None,
                 updates_interval_s: float | None = None,
                 drift_interval_s: float | None = None,
                 server: str = "",
                 parent: QObject | None = None) -> Stores:
    """``host_keys``: the questions the services' SSH connections ask (given to the
    executor pool when it was built); ``health_interval_s``: how often the targets store
    checks the fleet, ``updates_interval_s`` its images for updates and
    ``drift_interval_s`` its deployments for changes by hand (None: never); ``server``:
    the server the services work through ("" for this computer)."""
    bridge = EventBridge(bus, parent=parent)
    session = SessionStore(services.auth, parent=parent)

    async def list_targets(principal: Principal) -> Sequence[Target]:
        return (await services.targets.list_targets(principal)).items

    targets = TargetsStore(services.targets, session, health_interval_s=health_interval_s)
    drift = DriftStore(session, services.drift, targets, interval_s=drift_interval_s)
    stores = Stores(
        bridge=bridge,
        host_keys=host_keys,
        access_tokens=AccessTokensStore(session, services.access_tokens),
        session=session,
        users=UsersStore(session, services.users, services.organizations),
        targets=targets,
        containers=ContainersStore(services.containers, session),
        stacks=StacksStore(session, services.stacks),
        deployments=DeploymentsStore(session, services.deployments, list_targets,
                                     drift=drift),
        activity=ActivityStore(session, services.activity),
        notifications=NotificationsStore(ui_settings),
        dashboard=DashboardStore(session, services.dashboard),
        directory=DirectoryStore(session, services.targets, services.stacks),
        disk=DiskStore(services.disk, session),
        container_detail=ContainerDetailStore(services.containers, session),
        updates=UpdatesStore(session, services.updates, targets,
                             interval_s=updates_interval_s, sweeps=services.update_sweeps),
        drift=drift,
        terminal=TerminalStore(services.terminal, session),
        stats=StatsStore(services.stats, session),
        connection=ConnectionStore(bridge, server=server, parent=parent,
                                   reason=lambda: str(getattr(bus, "reason", "") or "")),
        workers=WorkersStore(session, services.workers),
        adopt=AdoptStore(services.adopt, session),
    )
    for receiver in (stores.users, stores.targets, stores.containers, stores.stacks,
                     stores.deployments, stores.activity, stores.notifications,
                     stores.dashboard, stores.directory, stores.disk, stores.container_detail,
                     stores.drift):
        bridge.sig_events_received.connect(receiver.apply_events)

    def resync_if_asked(batch: Sequence[Event]) -> None:
        if any(event.event_type == CLIENT_RESYNC for event in batch):
            for store in stores.acting:
                if isinstance(store, OrganizationStore):
                    store.resync()

    bridge.sig_events_received.connect(resync_if_asked)

    def organization_changed() -> None:
        principal = session.principal
        org = principal.organization_id if principal is not None else None
        stores.notifications.set_organization(str(org) if org else None)

    session.sig_session_changed.connect(organization_changed)
    # A service that refuses the session (ended elsewhere) signs this window out. Queued:
    # after the action.
    session.watch(*stores.acting)
    return stores

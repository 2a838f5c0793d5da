"""``RemoteServices``: the services of a WindFlow server as the desktop's stores see
them — every protocol of ``services/protocols.py`` over one ``ServerSession``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .activity import RemoteActivity, RemoteDashboard
from .adopt import RemoteAdopt
from .auth import RemoteAuth
from .client import ServerSession
from .containers import RemoteContainers
from .deployments import RemoteDeployments
from .disk import RemoteDisk
from .people import RemoteOrganizations, RemoteUsers
from .stacks import RemoteStacks
from .stats import RemoteStats
from .targets import RemoteTargets
from .terminal import RemoteTerminal
from .tokens import RemoteAccessTokens
from .updates import RemoteDrift, RemoteUpdates, RemoteUpdateSweeps
from .workers import RemoteWorkers


@dataclass(frozen=True)
class RemoteServices:
    auth: RemoteAuth
    access_tokens: RemoteAccessTokens
    users: RemoteUsers
    organizations: RemoteOrganizations
    targets: RemoteTargets
    containers: RemoteContainers
    stacks: RemoteStacks
    deployments: RemoteDeployments
    activity: RemoteActivity
    dashboard: RemoteDashboard
    disk: RemoteDisk
    updates: RemoteUpdates
    update_sweeps: RemoteUpdateSweeps
    drift: RemoteDrift
    adopt: RemoteAdopt
    terminal: RemoteTerminal
    stats: RemoteStats
    workers: RemoteWorkers

    @classmethod
    def over(cls, session: ServerSession) -> RemoteServices:
        return cls(auth=RemoteAuth(session), access_tokens=RemoteAccessTokens(session),
                   users=RemoteUsers(session), organizations=RemoteOrganizations(session),
                   targets=RemoteTargets(session), containers=RemoteContainers(session),
                   stacks=RemoteStacks(session), deployments=RemoteDeployments(session),
                   activity=RemoteActivity(session), dashboard=RemoteDashboard(session),
                   disk=RemoteDisk(session), updates=RemoteUpdates(session),
                   update_sweeps=RemoteUpdateSweeps(session),
                   drift=RemoteDrift(session), adopt=RemoteAdopt(session),
                   terminal=RemoteTerminal(session), stats=RemoteStats(session),
                   workers=RemoteWorkers(session))


if TYPE_CHECKING:
    from ..services.protocols import ServiceApis

    def _conforms(services: RemoteServices) -> ServiceApis:
        return services  # mypy: the remote services are what the stores ask for

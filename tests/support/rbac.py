"""The world of the resource RBAC matrix: two organizations with targets, stacks,
deployments and activity, every resource service over one backend, and targets that
refuse every connection.

Each organization's targets are SSH hosts at 127.0.0.1 on a port held by a socket that is
bound but never listens, so connecting is refused at once: a call that gets past the
authorization step and reaches for the target answers ``TargetUnreachableError`` without
any engine being up. Rows are written straight through the repositories (no audit, no
events) so building a fresh object for a destructive call costs one short transaction.
"""

from __future__ import annotations

import itertools
import socket
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import RecordingBus, add_member, add_org
from tests.support.target import engine_settings
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetAuth, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import (
    AuditEvent,
    Deployment,
    Stack,
    StackRevision,
    Target,
    User,
)
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.activity import ActivityService
from windflow_desktop.services.adopt import AdoptService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.services.deploy.context import PipelineSettings
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.services.targets import TargetService
from windflow_desktop.services.update_policy import UpdateSweepService
from windflow_desktop.services.updates import UpdateService

COMPOSE = "services:\n  web:\n    image: localhost/busybox\n    command: [sleep, '60']\n"
COMPOSE_V2 = COMPOSE.replace("'60'", "'120'")
_n = itertools.count()


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port bound without ``listen()``: every connection to it is refused."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@dataclass
class Services:
    targets: TargetService
    stacks: StackService
    deployments: DeploymentService
    containers: ContainerService
    activity: ActivityService
    dashboard: DashboardService
    adopt: AdoptService
    update_sweeps: UpdateSweepService


@dataclass
class OrgSeed:
    """One organization and the objects every non-destructive call uses."""

    id: uuid.UUID
    owner: Principal
    target: Target
    stack: Stack
    deployment: Deployment  # succeeded, of ``stack`` on its own target
    ids: set[uuid.UUID] = field(default_factory=set)  # every id that belongs to it


@dataclass
class World:
    backend: SqlBackend
    svc: Services
    port: int
    own: OrgSeed
    other: OrgSeed
    export_text: str = ""

    def seed(self, org: uuid.UUID) -> OrgSeed:
        return self.own if org == self.own.id else self.other

    async def target(self, org: uuid.UUID) -> Target:
        """A new SSH target of ``org`` that refuses connections."""
        target = await new_target(self.backend, self.port, org)
        self.seed(org).ids.add(target.id)
        return target

    async def stack(self, org: uuid.UUID, *, archived: bool = False) -> Stack:
        """A new stack of ``org`` with revisions 1 and 2."""
        stack, ids = await new_stack(self.backend, org, archived=archived)
        self.seed(org).ids.update(ids)
        return stack

    async def deployment(self, org: uuid.UUID, status: DeploymentStatus) -> Deployment:
        """A new deployment of the organization's stack (revision 2) on a new target."""
        seed = self.seed(org)
        dep = await new_deployment(self.backend, seed.stack, await self.target(org), status)
        seed.ids.add(dep.id)
        return dep

    async def superseded(self, org: uuid.UUID) -> Deployment:
        """A succeeded deployment that a newer one replaced on its (new) target: what
        "roll back to this" applies to (the flow table refuses it on the one that runs)."""
        seed = self.seed(org)
        target = await self.target(org)
        older = await new_deployment(self.backend, seed.stack, target,
                                     DeploymentStatus.SUCCEEDED)
        newer = await new_deployment(self.backend, seed.stack, target,
                                     DeploymentStatus.SUCCEEDED)
        seed.ids.update((older.id, newer.id))
        return older


async def new_target(backend: SqlBackend, port: int, org: uuid.UUID) -> Target:
    async with backend.unit_of_work() as uow:
        target = await uow.targets.add(Target(
            organization_id=org, name=f"unreachable-{next(_n)}", kind=TargetKind.SSH,
            host="127.0.0.1", port=port, username="nobody", auth=TargetAuth.AGENT))
        await uow.commit()
    return target


async def new_stack(backend: SqlBackend, org: uuid.UUID, *,
                    archived: bool = False) -> tuple[Stack, set[uuid.UUID]]:
    n = next(_n)
    async with backend.unit_of_work() as uow:
        stack = await uow.stacks.add(Stack(organization_id=org, name=f"Stack {n}",
                                           slug=f"stack-{n}", current_revision=2))
        revs = [await uow.stacks.add_revision(StackRevision(
            stack_id=stack.id, number=i, compose_yaml=text, message=f"r{i}"))
            for i, text in ((1, COMPOSE), (2, COMPOSE_V2))]
        if archived:
            stack.archived_at = stack.created_at
            stack = await uow.stacks.save(stack)
        await uow.commit()
    return stack, {stack.id, *(r.id for r in revs)}


async def new_deployment(backend: SqlBackend, stack: Stack, target: Target,
                         status: DeploymentStatus) -> Deployment:
    async with backend.unit_of_work() as uow:
        rev = await uow.stacks.get_revision(stack.id, stack.current_revision)
        dep = await uow.deployments.add(Deployment(
            organization_id=stack.organization_id, stack_id=stack.id, revision_id=rev.id,
            target_id=target.id, project_name=project_name(stack.slug, stack.id, target.id),
            status=status))
        await uow.commit()
    return dep


async def seed_org(backend: SqlBackend, port: int, name: str) -> OrgSeed:
    """An organization with an owner, a target, a stack, a succeeded deployment of it and
    one row in its activity trail."""
    org = await add_org(backend, name)
    owner = await add_member(backend, org.id, f"{name.lower()}_owner{next(_n)}", Role.OWNER)
    target = await new_target(backend, port, org.id)
    stack, stack_ids = await new_stack(backend, org.id)
    dep = await new_deployment(backend, stack, await new_target(backend, port, org.id),
                               DeploymentStatus.SUCCEEDED)
    async with backend.unit_of_work() as uow:
        event = await uow.audit.add(AuditEvent(
            type="stack.created", aggregate_type="stack", aggregate_id=str(stack.id),
            organization_id=org.id, actor_id=owner.user_id))
        await uow.commit()
    ids = {org.id, owner.user_id, target.id, dep.id, dep.target_id, event.id, *stack_ids}
    return OrgSeed(org.id, owner, target, stack, dep, ids)


def build_services(backend: SqlBackend, folder: Path) -> tuple[Services, ExecutorPool]:
    bus, secrets = RecordingBus(), SecretStore(MemoryKeyring())
    ctx = ServiceContext(backend, bus)
    pool = ExecutorPool(KnownHosts(folder / "known_hosts"), secrets.aget,
                        settings=engine_settings())
    core = DeploymentCore(
        backend, bus, pool, secrets,
        settings=PipelineSettings(projects_root=lambda t: str(folder / "projects")))
    deployments = DeploymentService(ctx, core, secrets)
    return Services(
        TargetService(ctx, secrets, pool), StackService(ctx),
        deployments, ContainerService(ctx, pool, secrets),
        ActivityService(ctx), DashboardService(ctx), AdoptService(ctx, pool, secrets),
        UpdateSweepService(ctx, UpdateService(ctx, pool, secrets), deployments,
                           watching=core.watching),
    ), pool


@asynccontextmanager
async def rbac_world(backend: SqlBackend, folder: Path) -> AsyncIterator[World]:
    """Both organizations seeded; the deployment service and the pool closed after."""
    svc, pool = build_services(backend, folder)
    try:
        with refusing_port() as port:
            w = World(backend, svc, port, await seed_org(backend, port, "Own"),
                      await seed_org(backend, port, "Other"))
            w.export_text = await svc.stacks.export_stack(w.own.owner, w.own.stack.id)
            yield w
    finally:
        await svc.deployments.shutdown()
        await pool.close()


async def add_actor(backend: SqlBackend, org: uuid.UUID, label: str, role: Role,
                    superuser: bool) -> Principal:
    actor = await add_member(backend, org, f"actor_{label}_{next(_n)}", role)
    if not superuser:
        return actor
    async with backend.unit_of_work() as uow:
        user: User = await uow.users.get(actor.user_id)
        user.is_superuser = True
        await uow.users.save(user)
        await uow.commit()
    return Principal(actor.user_id, org, role, True)


def uuids_in(value: Any, depth: int = 0) -> set[uuid.UUID]:
    """Every UUID a result carries (fields, items, keys, UUID-shaped strings)."""
    if depth > 6 or value is None:
        return set()
    if isinstance(value, uuid.UUID):
        return {value}
    if isinstance(value, str):
        try:
            return {uuid.UUID(value)} if len(value) == 36 else set()
        except ValueError:
            return set()
    found: set[uuid.UUID] = set()
    if isinstance(value, Mapping):
        for k, v in value.items():
            found |= uuids_in(k, depth + 1) | uuids_in(v, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            found |= uuids_in(item, depth + 1)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            found |= uuids_in(getattr(value, f.name), depth + 1)
    return found

"""Helpers for the identity tests: a recording bus, a settable clock, fast argon2, and
a builder for the auth, user and organization services over one backend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Membership, Organization, User
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.passwords import PasswordHasher
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.auth import AuthService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.organizations import OrganizationService
from windflow_desktop.services.users import UserService

PASSWORD = "correct horse battery staple"


def fast_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


class RecordingBus:
    """Keeps every published event (the services only publish)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.event_type for e in self.events]


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Services:
    backend: SqlBackend
    bus: RecordingBus
    clock: Clock
    keyring: MemoryKeyring
    secrets: SecretStore
    auth: AuthService
    users: UserService
    orgs: OrganizationService


def build_services(backend: SqlBackend, hasher: PasswordHasher | None = None) -> Services:
    bus, clock, ring = RecordingBus(), Clock(), MemoryKeyring()
    secrets = SecretStore(ring)
    ctx = ServiceContext(backend, bus, clock=clock)
    hasher = hasher or fast_hasher()
    return Services(
        backend, bus, clock, ring, secrets,
        AuthService(ctx, secrets, hasher=hasher),
        UserService(ctx, hasher),
        OrganizationService(ctx, secrets),
    )


async def add_member(
    backend: SqlBackend, org_id: uuid.UUID, username: str, role: Role, password_hash: str = ""
) -> Principal:
    """A user straight into the database (no audit), member of ``org_id`` with ``role``."""
    async with backend.unit_of_work() as uow:
        user = await uow.users.add(
            User(username=username, email=f"{username}@example.test",
                 password_hash=password_hash)
        )
        await uow.memberships.save(Membership(user.id, org_id, role))
        await uow.commit()
    return Principal(user.id, org_id, role, False)


async def add_org(backend: SqlBackend, name: str) -> Organization:
    async with backend.unit_of_work() as uow:
        org = await uow.organizations.add(Organization(name=name, slug=name.lower()))
        await uow.commit()
    return org

"""What every service shares: permission + organization scope checks, the unit of work,
audit events written in the same transaction, and events published after the commit.

    async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
        ...                                  # scope.uow.<repository>
        scope.record("membership.role_changed", "user", user.id, {"role": "admin"})
    # committed here; the recorded events are now on the bus
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ..domain.errors import (
    SESSION_ENDED,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ..domain.events import Event
from ..domain.identity import Principal
from ..domain.models import AuditEvent, Deployment, Stack, Target, User, utcnow
from ..domain.permissions import PermissionChecker
from ..domain.slugs import slug_of
from ..repositories.protocols import Backend, UnitOfWork

T = TypeVar("T")
log = logging.getLogger("windflow.services")

Clock = Callable[[], datetime]

# Keys an audit or event payload may never carry: values of secrets must not be recorded.
_SECRET_KEY = re.compile(r"pass(word|phrase)?|secret|token|private|signing|credential", re.I)


_UNSET: Any = object()


class Publisher(Protocol):
    """The part of ``EventBus`` the services use."""

    async def publish(self, event: Event) -> None: ...


def public_user(user: User) -> User:
    """A detached copy of ``user`` without its password hash, safe to hand to the UI."""
    return User(
        username=user.username,
        email=user.email,
        password_hash="",
        full_name=user.full_name,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        last_login=user.last_login,
        id=user.id,
        created_at=user.created_at,
    )


def check_no_secrets(data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if _SECRET_KEY.search(key):
            raise ValueError(f"audit/event data may not carry a secret-like key {key!r}")
        if isinstance(value, Mapping):
            check_no_secrets(value)


@dataclass
class Scope:
    """One unit of work for one principal; ``record`` audits and queues an event."""

    uow: UnitOfWork
    principal: Principal | None
    organization_id: uuid.UUID | None
    clock: Clock
    events: list[Event] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)

    @property
    def org(self) -> uuid.UUID:
        """The organization this scope acts in (every authorized scope has one)."""
        assert self.organization_id is not None, "a scope without an organization"
        return self.organization_id

    def record(
        self,
        event_type: str,
        aggregate_type: str,
        aggregate_id: object,
        data: Mapping[str, Any] | None = None,
        *,
        organization_id: uuid.UUID | None = _UNSET,
        actor_id: uuid.UUID | None = _UNSET,
    ) -> None:
        """Queue an audit row (written before the commit) and its event (sent after it)."""
        payload = dict(data or {})
        check_no_secrets(payload)
        org = self.organization_id if organization_id is _UNSET else organization_id
        if actor_id is _UNSET:
            actor_id = self.principal.user_id if self.principal else None
        now = self.clock()
        # One id for the audit row and its event, so a window that sees both shows one.
        event_id = uuid.uuid4()
        self.audit.append(
            AuditEvent(
                id=event_id,
                type=event_type,
                aggregate_type=aggregate_type,
                aggregate_id=str(aggregate_id),
                organization_id=org,
                actor_id=actor_id,
                data=payload,
                ts=now,
            )
        )
        self.events.append(
            Event(
                event_id=str(event_id),
                event_type=event_type,
                aggregate_type=aggregate_type,
                aggregate_id=str(aggregate_id),
                data=payload,
                organization_id=str(org) if org else None,
                actor_id=str(actor_id) if actor_id else None,
                timestamp=now,
            )
        )

    async def stack(self, stack_id: uuid.UUID) -> Stack:
        """The stack, if it belongs to this scope's organization (no other exists)."""
        return self._own(await self.uow.stacks.get(stack_id), "stack", stack_id)

    async def target(self, target_id: uuid.UUID) -> Target:
        """The target, if it belongs to this scope's organization (no other exists)."""
        return self._own(await self.uow.targets.get(target_id), "target", target_id)

    async def deployment(self, deployment_id: uuid.UUID) -> Deployment:
        """The deployment, if it belongs to this scope's organization."""
        return self._own(await self.uow.deployments.get(deployment_id), "deployment",
                         deployment_id)

    def _own(self, obj: T, resource: str, obj_id: uuid.UUID) -> T:
        if getattr(obj, "organization_id", None) != self.organization_id:
            raise NotFoundError(resource, obj_id)  # other organizations' do not exist
        return obj

    async def flush_audit(self) -> None:
        for audit in self.audit:
            await self.uow.audit.add(audit)
        self.audit.clear()


class ServiceContext:
    """The backend, the event publisher and the clock shared by all services."""

    def __init__(self, backend: Backend, bus: Publisher, *, clock: Clock = utcnow) -> None:
        self.backend = backend
        self.bus = bus
        self.clock = clock

    @asynccontextmanager
    async def transaction(self, principal: Principal | None = None) -> AsyncIterator[Scope]:
        """A unit of work without a permission check (sign-in flows, creating an org);
        a principal's session is still confirmed (an ended one is refused)."""
        async with self.backend.unit_of_work() as uow:
            if principal is not None:
                await confirm_session(uow, principal)
            scope = Scope(uow, principal, None, self.clock)
            yield scope
            await scope.flush_audit()
            await uow.commit()
        await self.publish(scope.events)

    @asynccontextmanager
    async def authorized(
        self,
        principal: Principal,
        permission: str,
        organization_id: uuid.UUID | None = None,
    ) -> AsyncIterator[Scope]:
        """Check ``permission`` in the organization (the principal's own by default), then
        open the unit of work, confirm the principal against the database (the session has
        not ended, the account is active, the membership and role still hold), and commit
        when the block ends."""
        org = organization_id if organization_id is not None else principal.organization_id
        PermissionChecker(principal).require_permission(permission, org)
        async with self.backend.unit_of_work() as uow:
            await confirm_principal(uow, principal, permission, org)
            scope = Scope(uow, principal, org, self.clock)
            yield scope
            await scope.flush_audit()
            await uow.commit()
        await self.publish(scope.events)

    async def publish(self, events: list[Event]) -> None:
        for event in events:
            try:
                await self.bus.publish(event)
            except Exception:  # the change is committed; a lost event must not undo it
                log.warning("event %s could not be published", event.event_type, exc_info=True)


async def confirm_principal(
    uow: UnitOfWork, principal: Principal, permission: str, organization_id: uuid.UUID | None
) -> User:
    """The principal's user, re-checked against storage in one read (a stale principal
    loses rights): the session still live, the account there and active, the role as it
    is now."""
    in_own = organization_id is not None and organization_id == principal.organization_id
    standing = await uow.users.standing(principal.user_id,
                                        organization_id if in_own else None,
                                        principal.session_id)
    if principal.session_id is not None and (standing is None or not standing.session_live):
        raise session_ended()  # a deleted account's sessions went with it
    if standing is None:
        raise AuthenticationError("your account no longer exists; sign in again")
    user = standing.user
    if not user.is_active:
        raise AuthenticationError(
            "your account is disabled; ask an administrator", code="ACCOUNT_DISABLED"
        )
    current = Principal(user.id, principal.organization_id, standing.role, user.is_superuser,
                        scopes=principal.scopes)
    checker = PermissionChecker(current)
    if not checker.has_permission(permission, organization_id):
        if standing.role is None and not user.is_superuser:
            raise PermissionDeniedError("you are no longer a member of this organization")
        checker.require_permission(permission, organization_id)
    return user


async def confirm_session(uow: UnitOfWork, principal: Principal) -> None:
    """Refuse a principal whose sign-in session has ended: signed out (anywhere), revoked
    by a password change or a detected token reuse, or expired and purged. The error's
    code, ``SESSION_ENDED``, is what the window turns into a sign-in prompt."""
    if principal.session_id is None:
        return
    standing = await uow.users.standing(principal.user_id, None, principal.session_id)
    if standing is None or not standing.session_live:
        raise session_ended()


def session_ended() -> AuthenticationError:
    """The refusal the window turns into a sign-in prompt."""
    return AuthenticationError(
        "your session has ended (signed out, password changed, or ended for safety): "
        "sign in again",
        code=SESSION_ENDED,
    )


_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,149}$")


async def free_slug(name: str, taken: Callable[[str], Awaitable[bool]], *, limit: int,
                    fallback: str) -> str:
    """The slug of ``name`` (``fallback`` when nothing of it is left), made unique with
    ``-2``, ``-3``… while ``taken`` says it is."""
    base = slug_of(name, limit=limit, fallback=fallback)
    slug, n = base, 1
    while await taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


async def unique_slug(uow: UnitOfWork, name: str) -> str:
    """A free organization slug for ``name``."""

    async def taken(slug: str) -> bool:
        return await uow.organizations.get_by_slug(slug) is not None

    return await free_slug(name, taken, limit=90, fallback="org")


def clean_name(name: str, what: str) -> str:
    """``name`` with its spaces folded; a ``what`` ("stack", "organization") needs one of
    at most 200 characters."""
    text = " ".join(name.split())
    if not text:
        raise ValidationError(f"the {what} needs a name", field="name")
    if len(text) > 200:
        raise ValidationError(f"the {what} name is longer than 200 characters", field="name")
    return text


def clean_org_name(name: str) -> str:
    return clean_name(name, "organization")


def clean_username(username: str) -> str:
    text = username.strip()
    if not _USERNAME.match(text) or "@" in text:
        raise ValidationError(
            "the username needs 2 to 150 letters, digits, dots, dashes or underscores",
            field="username",
        )
    return text


def clean_email(email: str) -> str:
    text = email.strip()
    local, _, domain = text.partition("@")
    if not local or "." not in domain or " " in text or len(text) > 320:
        raise ValidationError("enter a valid email address", field="email")
    return text.lower()

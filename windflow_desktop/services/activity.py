"""``ActivityService``: the organization's audit trail, newest first, in keyset pages,
filterable by actor, event type (prefix), object and time.

Rows come back as ``ActivityEntry`` — detached plain values with the actor's display
name resolved — so the UI never holds a database object. Reading needs ``org:read`` in
the principal's organization; a superuser may read another organization's trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.errors import NotFoundError, ValidationError
from ..domain.identity import Principal
from ..domain.models import AuditEvent
from ..domain.paging import Page, PageRequest
from ..domain.permissions import ORG_READ
from ..repositories.protocols import UnitOfWork
from .common import ServiceContext

MAX_ACTORS = 2000


@dataclass(frozen=True)
class ActivityFilters:
    """What to show. ``type_prefix`` is ``"deployment."`` for a whole aggregate or a full
    event type; ``aggregate_id`` is one object; ``since`` a lower time bound (inclusive)."""

    type_prefix: str | None = None
    actor_id: uuid.UUID | None = None
    aggregate_id: str | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.type_prefix is not None and len(self.type_prefix) > 100:
            raise ValidationError("the event type filter is too long", field="type_prefix")
        if self.aggregate_id is not None and len(self.aggregate_id) > 100:
            raise ValidationError("the object filter is too long", field="aggregate_id")

    @property
    def active(self) -> bool:
        return any(v is not None for v in
                   (self.type_prefix, self.actor_id, self.aggregate_id, self.since))


@dataclass(frozen=True)
class ActivityEntry:
    """One audit event as the Activity view shows it (``actor_name`` is "" for the system)."""

    id: str
    ts: datetime
    type: str
    aggregate_type: str
    aggregate_id: str
    actor_id: uuid.UUID | None
    actor_name: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Actor:
    """Someone who may appear in the trail (a member of the organization)."""

    id: uuid.UUID
    name: str


class ActivityService:
    """Public API: ``list(p, page=None, filters=None, *, organization_id=None) ->
    Page[ActivityEntry]``, ``actors(p) -> tuple[Actor, ...]``."""

    def __init__(self, context: ServiceContext) -> None:
        self.ctx = context

    async def list(
        self,
        principal: Principal,
        page: PageRequest | None = None,
        filters: ActivityFilters | None = None,
        *,
        organization_id: uuid.UUID | None = None,
    ) -> Page[ActivityEntry]:
        f = filters or ActivityFilters()
        async with self.ctx.authorized(principal, ORG_READ, organization_id) as scope:
            if scope.organization_id is None:  # never list every organization's trail
                raise ValidationError("choose an organization first", field="organization_id")
            result = await scope.uow.audit.list(
                scope.organization_id, page or PageRequest(),
                type_prefix=f.type_prefix or None, actor_id=f.actor_id,
                aggregate_id=f.aggregate_id or None, since=f.since,
            )
            names = await _actor_names(scope.uow, result.items)
            items = tuple(_entry(row, names) for row in result.items)
        return Page(items=items, next_cursor=result.next_cursor)

    async def actors(self, principal: Principal) -> tuple[Actor, ...]:
        """The members of the principal's organization, by name (for the actor filter)."""
        async with self.ctx.authorized(principal, ORG_READ) as scope:
            if scope.organization_id is None:
                return ()
            found: list[Actor] = []
            after: str | None = None
            while len(found) < MAX_ACTORS:
                users = await scope.uow.users.list(
                    PageRequest(limit=500, after=after), organization_id=scope.organization_id
                )
                found.extend(Actor(u.id, u.full_name or u.username) for u in users.items)
                if users.next_cursor is None:
                    break
                after = users.next_cursor
        return tuple(sorted(found, key=lambda a: a.name.lower()))


async def _actor_names(uow: UnitOfWork, rows: Any) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for actor_id in {row.actor_id for row in rows if row.actor_id is not None}:
        try:
            user = await uow.users.get(actor_id)
        except NotFoundError:
            continue
        names[actor_id] = user.full_name or user.username
    return names


def _entry(row: AuditEvent, names: Mapping[uuid.UUID, str]) -> ActivityEntry:
    actor = row.actor_id
    return ActivityEntry(
        id=str(row.id), ts=row.ts, type=row.type, aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id, actor_id=actor,
        actor_name=names.get(actor, str(actor)[:8]) if actor is not None else "",
        data=dict(row.data or {}),
    )

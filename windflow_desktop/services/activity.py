"""``ActivityService``: the organization's audit trail, newest first, in keyset pages,
filterable by actor, event type (prefix), object and time.

Rows come back as ``ActivityEntry`` — detached plain values with the actor's display
name resolved — so the UI never holds a database object. Reading needs ``org:read`` in
the principal's organization; a superuser may read another organization's trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ..domain.activity import ActivityEntry, ActivityFilters, Actor
from ..domain.errors import NotFoundError, ValidationError
from ..domain.identity import Principal
from ..domain.models import AuditEvent
from ..domain.paging import Page, PageRequest
from ..domain.permissions import ORG_READ
from ..repositories.protocols import UnitOfWork
from .common import ServiceContext

MAX_ACTORS = 2000


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

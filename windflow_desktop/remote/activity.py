"""The audit trail and the dashboard, from a WindFlow server: ``RemoteActivity``
(``ActivityApi``) and ``RemoteDashboard`` (``DashboardApi``). The ``principal`` is not
sent (the server reads the token's caller); ``organization_id`` is, for a superuser
reading another organization."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from ..domain.activity import ActivityEntry, ActivityFilters, Actor, DashboardSummary
from ..domain.identity import Principal
from ..domain.paging import Page, PageRequest
from .client import ServerSession
from .decode import decode
from .paging import query


class RemoteActivity:
    """``ActivityApi`` over ``/activity`` (filters as query parameters)."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def list(self, principal: Principal, page: PageRequest | None = None,
                   filters: ActivityFilters | None = None, *,
                   organization_id: uuid.UUID | None = None) -> Page[ActivityEntry]:
        f = filters or ActivityFilters()
        params = query(page or PageRequest(), type_prefix=f.type_prefix or None,
                       actor_id=f.actor_id, aggregate_id=f.aggregate_id or None,
                       since=f.since, organization_id=organization_id)
        return decode(Page[ActivityEntry],
                      await self._session.request("GET", "/activity", params=params))

    async def actors(self, principal: Principal) -> tuple[Actor, ...]:
        return decode(tuple[Actor, ...],
                      await self._session.request("GET", "/activity/actors"))


class RemoteDashboard:
    """``DashboardApi`` over ``/dashboard``."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def summary(self, principal: Principal, *,
                      organization_id: uuid.UUID | None = None) -> DashboardSummary:
        data = await self._session.request("GET", "/dashboard",
                                           params=query(organization_id=organization_id))
        return decode(DashboardSummary, data)


if TYPE_CHECKING:
    from ..services.protocols import ActivityApi, DashboardApi

    _activity: type[ActivityApi] = RemoteActivity
    _dashboard: type[DashboardApi] = RemoteDashboard

"""What happened (the audit trail, paged and filtered), who may appear in it (the actor
filter's choices) and the dashboard's summary. A superuser may name another
organization (``organization_id``); everyone else reads their own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...domain.activity import ActivityFilters
from ...domain.paging import PageRequest
from ..deps import Caller, Cursor, Limit, Search, Services
from ..serialize import page_json, plain

router = APIRouter(tags=["activity"])


@router.get("/activity")
async def activity(caller: Caller, services: Services, limit: Limit = 100,
                   cursor: Cursor = None, search: Search = None,
                   type_prefix: Annotated[str | None, Query(max_length=100)] = None,
                   actor_id: uuid.UUID | None = None,
                   aggregate_id: Annotated[str | None, Query(max_length=100)] = None,
                   since: datetime | None = None,
                   organization_id: uuid.UUID | None = None) -> dict[str, Any]:
    filters = ActivityFilters(type_prefix, actor_id, aggregate_id, since)
    return page_json(await services.activity.list(caller, PageRequest(limit, cursor, search),
                                                  filters, organization_id=organization_id))


@router.get("/activity/actors")
async def actors(caller: Caller, services: Services) -> list[Any]:
    return [plain(a) for a in await services.activity.actors(caller)]


@router.get("/dashboard")
async def dashboard(caller: Caller, services: Services,
                    organization_id: uuid.UUID | None = None) -> Any:
    return plain(await services.dashboard.summary(caller, organization_id=organization_id))

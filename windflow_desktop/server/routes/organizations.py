"""Organizations: the caller's (a superuser sees all), and a new one, which its maker
owns (switch to it with ``POST /auth/refresh`` and its ``organization_id``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...domain.paging import PageRequest
from ..deps import Caller, Cursor, Limit, Services
from ..serialize import page_json, plain

router = APIRouter(prefix="/organizations", tags=["organizations"])


class NewOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]


@router.get("")
async def list_organizations(caller: Caller, services: Services, limit: Limit = 100,
                             cursor: Cursor = None) -> dict[str, Any]:
    return page_json(await services.organizations.list(caller, PageRequest(limit, cursor)))


@router.post("", status_code=201)
async def create_organization(body: NewOrganization, caller: Caller, services: Services
                              ) -> Any:
    return plain(await services.organizations.create(caller, body.name))

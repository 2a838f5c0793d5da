"""Organizations: the caller's (a superuser sees all), one of them and its members, and a
new one, which its maker owns (switch to it with ``POST /auth/refresh`` and its
``organization_id``). And the caller's own invitations into other organizations: list,
accept (the answer is the new membership), decline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...domain.paging import PageRequest
from ..deps import Caller, Cursor, Limit, Search, Services
from ..serialize import member_json, membership_json, page_json, plain

router = APIRouter(tags=["organizations"])


class NewOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]


@router.get("/organizations")
async def list_organizations(caller: Caller, services: Services, limit: Limit = 100,
                             cursor: Cursor = None, search: Search = None) -> dict[str, Any]:
    return page_json(await services.organizations.list(caller,
                                                       PageRequest(limit, cursor, search)))


@router.post("/organizations", status_code=201)
async def create_organization(body: NewOrganization, caller: Caller, services: Services
                              ) -> Any:
    return plain(await services.organizations.create(caller, body.name))


@router.get("/organizations/{organization_id}")
async def get_organization(organization_id: uuid.UUID, caller: Caller,
                           services: Services) -> Any:
    return plain(await services.organizations.get(caller, organization_id))


@router.get("/organizations/{organization_id}/members")
async def members(organization_id: uuid.UUID, caller: Caller, services: Services,
                  limit: Limit = 100, cursor: Cursor = None,
                  search: Search = None) -> dict[str, Any]:
    page = await services.organizations.members(caller, organization_id,
                                                PageRequest(limit, cursor, search))
    return page_json(page, member_json)


@router.get("/invitations")
async def invitations(caller: Caller, services: Services) -> list[Any]:
    """The invitations waiting for the caller's answer, oldest first."""
    return [plain(i) for i in await services.organizations.invitations(caller)]


@router.post("/invitations/{invitation_id}/accept")
async def accept(invitation_id: uuid.UUID, caller: Caller, services: Services
                 ) -> dict[str, Any]:
    return membership_json(await services.organizations.accept_invitation(caller,
                                                                           invitation_id))


@router.post("/invitations/{invitation_id}/decline", status_code=204)
async def decline(invitation_id: uuid.UUID, caller: Caller, services: Services) -> None:
    await services.organizations.decline_invitation(caller, invitation_id)

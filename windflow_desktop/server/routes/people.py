"""The organization's people: members (paged), one member, create a user, invite an
existing one, change a role, disable and enable an account, remove from the
organization. The services decide who may do what (``users:manage``, and no one grants
more than they hold)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...domain.enums import Role
from ...domain.paging import PageRequest
from ..deps import Caller, Cursor, Limit, Services
from ..serialize import member_json, page_json

router = APIRouter(prefix="/users", tags=["people"])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=100)]
    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    role: Role = Role.VIEWER
    full_name: Annotated[str, Field(max_length=200)] = ""


class Invite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: Annotated[str, Field(min_length=1, max_length=320)]  # a username or an email
    role: Role


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


@router.get("")
async def list_users(caller: Caller, services: Services, limit: Limit = 100,
                     cursor: Cursor = None) -> dict[str, Any]:
    return page_json(await services.users.list_users(caller, PageRequest(limit, cursor)),
                     member_json)


@router.post("", status_code=201)
async def create_user(body: NewUser, caller: Caller, services: Services) -> dict[str, Any]:
    return member_json(await services.users.create_user(caller, **body.model_dump()))


@router.post("/invitations", status_code=204)
async def invite(body: Invite, caller: Caller, services: Services) -> None:
    """An existing user invited into the caller's organization (they accept it
    themselves); the same answer whether the login exists or not."""
    await services.users.add_member(caller, body.login, body.role)


@router.get("/{user_id}")
async def get_user(user_id: uuid.UUID, caller: Caller, services: Services) -> dict[str, Any]:
    return member_json(await services.users.get_user(caller, user_id))


@router.put("/{user_id}/role")
async def change_role(user_id: uuid.UUID, body: RoleChange, caller: Caller,
                      services: Services) -> dict[str, Any]:
    return member_json(await services.users.change_role(caller, user_id, body.role))


@router.post("/{user_id}/disable")
async def disable(user_id: uuid.UUID, caller: Caller, services: Services) -> dict[str, Any]:
    return member_json(await services.users.disable_user(caller, user_id))


@router.post("/{user_id}/enable")
async def enable(user_id: uuid.UUID, caller: Caller, services: Services) -> dict[str, Any]:
    return member_json(await services.users.enable_user(caller, user_id))


@router.delete("/{user_id}", status_code=204)
async def remove(user_id: uuid.UUID, caller: Caller, services: Services) -> None:
    await services.users.remove_member(caller, user_id)

"""Sign in, refresh (rotation; a reused refresh token revokes its family), sign out, and
who the caller is."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ...domain.identity import AuthSession
from ...domain.permissions import PermissionChecker
from ..deps import Caller, Services
from ..serialize import membership_json, plain, user_json

router = APIRouter(prefix="/auth", tags=["auth"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]
    organization_id: uuid.UUID | None = None  # another organization of the user's


def _tokens(session: AuthSession) -> dict[str, Any]:
    pair = session.tokens
    lifetime = (pair.access.exp - pair.access.iat).total_seconds()
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "token_type": "bearer", "expires_in": int(lifetime)}


@router.post("/login")
async def login(body: Login, request: Request, services: Services) -> dict[str, Any]:
    source = request.client.host if request.client else None
    session = await services.auth.login(body.username, body.password, source=source)
    return _tokens(session)


@router.post("/refresh")
async def refresh(body: Refresh, services: Services) -> dict[str, Any]:
    return _tokens(await services.auth.refresh(body.refresh_token,
                                               organization_id=body.organization_id))


@router.post("/logout", status_code=204)
async def logout(body: Refresh, services: Services) -> None:
    await services.auth.logout(body.refresh_token)


@router.get("/me")
async def me(caller: Caller, services: Services) -> dict[str, Any]:
    user, memberships = await services.auth.whoami(caller)
    organizations = (await services.organizations.list(caller)).items
    organization = next((o for o in organizations if o.id == caller.organization_id), None)
    return {"user": user_json(user), "organization_id": plain(caller.organization_id),
            "organization": plain(organization),
            "role": plain(caller.role), "is_superuser": caller.is_superuser,
            "permissions": sorted(PermissionChecker(caller).permissions()),
            "memberships": [membership_json(m) for m in memberships]}


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


class PasswordCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=1024)]


@router.post("/password")
async def change_password(body: PasswordChange, caller: Caller, services: Services
                          ) -> dict[str, Any]:
    """One's own password; every other session ends, this one goes on with new tokens."""
    return _tokens(await services.auth.change_password(caller, body.current_password,
                                                       body.new_password))


@router.post("/confirm-password", status_code=204)
async def confirm_password(body: PasswordCheck, caller: Caller, services: Services) -> None:
    """Is this the caller's password (a locked window asks)? 401 when it is not."""
    await services.auth.confirm_password(caller, body.password)


@router.post("/logout-all", status_code=204)
async def logout_all(caller: Caller, services: Services) -> None:
    await services.auth.logout_everywhere(caller)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=365)] = 90
    scopes: Annotated[list[Annotated[str, Field(max_length=50)]] | None,
                      Field(max_length=50)] = None


def _token_json(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = plain(record)
    out.pop("token_hash", None)
    return out


@router.post("/tokens", status_code=201)
async def create_token(body: NewToken, caller: Caller, services: Services) -> dict[str, Any]:
    record, token = await services.access_tokens.create(caller, body.name,
                                                        body.expires_in_days, body.scopes)
    return {**_token_json(record), "token": token}


@router.get("/tokens")
async def list_tokens(caller: Caller, services: Services) -> list[dict[str, Any]]:
    return [_token_json(r) for r in await services.access_tokens.list(caller)]


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: uuid.UUID, caller: Caller, services: Services) -> None:
    await services.access_tokens.revoke(caller, token_id)

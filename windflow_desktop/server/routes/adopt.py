"""Compose projects a target runs that WindFlow does not manage, adopting one as a stack,
and keeping a managed project's changes made by hand as a new revision."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...domain.adopt import AdoptSource
from ..deps import Caller, Services
from ..serialize import plain

router = APIRouter(tags=["adopt"])


class Adopt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project: Annotated[str, Field(min_length=1, max_length=63)]
    stack_name: Annotated[str, Field(min_length=1, max_length=200)]
    source: AdoptSource = AdoptSource.FILES


class Keep(BaseModel):
    model_config = ConfigDict(extra="forbid")


@router.get("/targets/{target_id}/unmanaged")
async def unmanaged(target_id: uuid.UUID, caller: Caller, services: Services
                    ) -> dict[str, Any]:
    result: dict[str, Any] = plain(await services.adopt.discover(caller, target_id))
    return result


@router.post("/targets/{target_id}/adopt", status_code=201)
async def adopt(target_id: uuid.UUID, body: Adopt, caller: Caller, services: Services
                ) -> dict[str, Any]:
    result: dict[str, Any] = plain(await services.adopt.adopt(
        caller, target_id, body.project, body.stack_name, body.source))
    return result


@router.post("/deployments/{deployment_id}/keep", status_code=201)
async def keep(deployment_id: uuid.UUID, caller: Caller, services: Services,
               body: Keep | None = None) -> dict[str, Any]:
    result: dict[str, Any] = plain(await services.adopt.keep(caller, deployment_id))
    return result

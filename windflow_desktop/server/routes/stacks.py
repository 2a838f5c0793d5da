"""Stacks: paged list, one stack, create, change, new revision (immutable), revisions,
one revision, diff, archive and back."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ...domain.paging import PageRequest
from ..deps import Caller, Cursor, Limit, Services
from ..serialize import page_json, plain, stack_json

router = APIRouter(prefix="/stacks", tags=["stacks"])
ComposeText = Annotated[str, Field(min_length=1, max_length=2 << 20)]
Variables = Annotated[list[dict[str, Any]], Field(max_length=500)]


class NewStack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    compose_yaml: ComposeText
    variables: Variables = []
    description: Annotated[str, Field(max_length=2000)] = ""
    tags: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=50)] = []
    message: Annotated[str, Field(max_length=500)] = ""


class StackChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    description: Annotated[str | None, Field(max_length=2000)] = None
    tags: Annotated[list[Annotated[str, Field(max_length=50)]] | None,
                    Field(max_length=50)] = None
    host_access: bool | None = None


class NewRevision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    compose_yaml: ComposeText
    variables: Variables = []
    message: Annotated[str, Field(max_length=500)] = ""


@router.get("")
async def list_stacks(caller: Caller, services: Services, limit: Limit = 100,
                      cursor: Cursor = None, archived: bool = False) -> dict[str, Any]:
    return page_json(await services.stacks.list_stacks(caller, PageRequest(limit, cursor),
                                             archived=archived), stack_json)


@router.post("", status_code=201)
async def create_stack(body: NewStack, caller: Caller, services: Services) -> dict[str, Any]:
    stack, revision = await services.stacks.create_stack(caller, **body.model_dump())
    return {"stack": stack_json(stack), "revision": plain(revision)}


@router.get("/{stack_id}")
async def get_stack(stack_id: uuid.UUID, caller: Caller, services: Services
                    ) -> dict[str, Any]:
    return stack_json(await services.stacks.get_stack(caller, stack_id))


@router.patch("/{stack_id}")
async def update_stack(stack_id: uuid.UUID, body: StackChange, caller: Caller,
                       services: Services) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return stack_json(await services.stacks.update_stack(caller, stack_id, **changes))


@router.post("/{stack_id}/revisions", status_code=201)
async def save_revision(stack_id: uuid.UUID, body: NewRevision, caller: Caller,
                        services: Services) -> Any:
    return plain(await services.stacks.save_revision(caller, stack_id, **body.model_dump()))


@router.get("/{stack_id}/revisions")
async def revisions(stack_id: uuid.UUID, caller: Caller, services: Services,
                    limit: Limit = 100, cursor: Cursor = None) -> dict[str, Any]:
    return page_json(await services.stacks.revisions(caller, stack_id, PageRequest(limit, cursor)))


@router.get("/{stack_id}/revisions/{number}")
async def revision(stack_id: uuid.UUID, number: Annotated[int, Path(ge=1)], caller: Caller,
                   services: Services) -> Any:
    return plain(await services.stacks.get_revision(caller, stack_id, number))


@router.get("/{stack_id}/diff")
async def diff(stack_id: uuid.UUID, caller: Caller, services: Services,
               old: Annotated[int, Query(ge=1)], new: Annotated[int, Query(ge=1)]) -> Any:
    return plain(await services.stacks.diff(caller, stack_id, old, new))


@router.post("/{stack_id}/archive")
async def archive(stack_id: uuid.UUID, caller: Caller, services: Services) -> dict[str, Any]:
    return stack_json(await services.stacks.archive(caller, stack_id))


@router.post("/{stack_id}/unarchive")
async def unarchive(stack_id: uuid.UUID, caller: Caller, services: Services
                    ) -> dict[str, Any]:
    return stack_json(await services.stacks.unarchive(caller, stack_id))

"""Stacks: paged list, one stack, create, change, new revision (immutable; refused when
someone saved since the revision the caller edited), revisions, one revision (or the
current one), diff, restore, duplicate, archive and back, export and import, and the
validation of a Compose text (nothing stored; a signed-in caller only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ...domain.enums import UpdatePolicy
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
    update_policy: UpdatePolicy | None = None


class NewRevision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    compose_yaml: ComposeText
    variables: Variables = []
    message: Annotated[str, Field(max_length=500)] = ""
    expected_revision: Annotated[int | None, Field(ge=0)] = None


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    compose_yaml: Annotated[str, Field(max_length=2 << 20)]
    variables: Variables = []


class Restore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: Annotated[int, Field(ge=1)]
    message: Annotated[str | None, Field(max_length=500)] = None


class Duplicate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]


class Import(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The request body is capped at 4 MiB (limits.py): a larger export is refused there.
    text: Annotated[str, Field(min_length=1, max_length=4 << 20)]
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None


@router.get("")
async def list_stacks(caller: Caller, services: Services, limit: Limit = 100,
                      cursor: Cursor = None, archived: bool = False) -> dict[str, Any]:
    return page_json(await services.stacks.list_stacks(caller, PageRequest(limit, cursor),
                                             archived=archived), stack_json)


@router.post("", status_code=201)
async def create_stack(body: NewStack, caller: Caller, services: Services) -> dict[str, Any]:
    stack, revision = await services.stacks.create_stack(caller, **body.model_dump())
    return {"stack": stack_json(stack), "revision": plain(revision)}


@router.post("/validate")
async def validate(body: Draft, caller: Caller, services: Services) -> dict[str, Any]:
    """The editor's report on a draft; ``caller`` only makes it need a signed-in user."""
    report = await services.stacks.validate(body.compose_yaml, body.variables)
    return {k: v for k, v in plain(report).items() if not k.startswith("_")}


@router.post("/import", status_code=201)
async def import_stack(body: Import, caller: Caller, services: Services) -> dict[str, Any]:
    return stack_json(await services.stacks.import_stack(caller, body.text, name=body.name))


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


@router.get("/{stack_id}/revisions/current")
async def current_revision(stack_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.stacks.get_revision(caller, stack_id))


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


@router.post("/{stack_id}/restore", status_code=201)
async def restore(stack_id: uuid.UUID, body: Restore, caller: Caller,
                  services: Services) -> Any:
    return plain(await services.stacks.restore(caller, stack_id, body.number, body.message))


@router.post("/{stack_id}/duplicate", status_code=201)
async def duplicate(stack_id: uuid.UUID, body: Duplicate, caller: Caller,
                    services: Services) -> dict[str, Any]:
    return stack_json(await services.stacks.duplicate(caller, stack_id, body.name))


@router.get("/{stack_id}/export")
async def export(stack_id: uuid.UUID, caller: Caller, services: Services,
                 fmt: Annotated[str, Query(max_length=10)] = "json"
                 ) -> dict[str, str]:
    """The export document as text in a JSON answer (``{"format", "text"}``); the
    service refuses a format other than json or yaml (field ``fmt``)."""
    return {"format": fmt, "text": await services.stacks.export_stack(caller, stack_id, fmt)}

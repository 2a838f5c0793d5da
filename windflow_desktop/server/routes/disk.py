"""A target's images, volumes and networks: what uses them, removing one, and pruning
what nothing uses (its preview first)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ...domain.containers import DiskKind
from ..deps import Caller, Services
from ..serialize import plain

router = APIRouter(prefix="/targets/{target_id}/disk", tags=["disk"])
Ref = Annotated[str, Path(min_length=1, max_length=300)]


@router.get("")
async def usage(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.disk.usage(caller, target_id))


@router.delete("/{kind}/{ref:path}", status_code=204)
async def remove(target_id: uuid.UUID, kind: DiskKind, ref: Ref, caller: Caller,
                 services: Services, force: Annotated[bool, Query()] = False) -> None:
    await services.disk.remove(caller, target_id, kind, ref, force=force)


@router.get("/prune/{kind}")
async def prune_preview(target_id: uuid.UUID, kind: DiskKind, caller: Caller,
                        services: Services) -> Any:
    return plain(await services.disk.prune_preview(caller, target_id, kind))


@router.post("/prune/{kind}")
async def prune(target_id: uuid.UUID, kind: DiskKind, caller: Caller,
                services: Services) -> Any:
    return plain(await services.disk.prune(caller, target_id, kind))

"""What really runs on a target: whether a newer image stands behind the tags its
containers run, and which deployments' projects were changed by hand."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ..deps import Caller, Services
from ..serialize import plain

router = APIRouter(tags=["updates"])


@router.get("/targets/{target_id}/updates")
async def updates(target_id: uuid.UUID, caller: Caller, services: Services
                  ) -> list[dict[str, Any]]:
    return [plain(line) for line in await services.updates.check(caller, target_id)]


@router.get("/targets/{target_id}/drift")
async def drift(target_id: uuid.UUID, caller: Caller, services: Services
                ) -> list[dict[str, Any]]:
    return [plain(line) for line in await services.drift.check(caller, target_id)]

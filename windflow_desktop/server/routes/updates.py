"""Whether a newer image stands behind the tags a target's containers run."""

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

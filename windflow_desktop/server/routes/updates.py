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


@router.get("/updates")
async def latest_updates(caller: Caller, services: Services) -> dict[str, Any]:
    """The latest round of the server's scheduled update checks for the caller's
    organization (one runs now when none has yet), the stacks' policies applied."""
    result: dict[str, Any] = plain(await services.update_sweeps.latest(caller))
    return result


@router.post("/updates/check")
async def check_updates(caller: Caller, services: Services) -> dict[str, Any]:
    """A round of update checks now (automatic updates included, as the person who
    chose them for each stack)."""
    result: dict[str, Any] = plain(await services.update_sweeps.sweep(caller))
    return result


@router.get("/targets/{target_id}/drift")
async def drift(target_id: uuid.UUID, caller: Caller, services: Services
                ) -> list[dict[str, Any]]:
    return [plain(line) for line in await services.drift.check(caller, target_id)]

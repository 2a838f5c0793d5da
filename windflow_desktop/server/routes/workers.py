"""Workers (server mode with a job queue on Redis): ``GET /workers`` — the workers alive
with their last heartbeat, the jobs queued, running and dead, and the caller's
organization's dead jobs; ``POST /workers/dead/{id}/retry`` deploys a dead job's
deployment again (a new deployment). Both need ``deployments:manage`` (operator+)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from ..deps import Caller, Services
from ..serialize import deployment_json

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("")
async def workers(caller: Caller, services: Services) -> dict[str, Any]:
    return dict(await services.deployments.workers(caller))


@router.post("/dead/{dead_id}/retry", status_code=202)
async def retry_dead(dead_id: Annotated[str, Path(max_length=64)], caller: Caller,
                     services: Services) -> dict[str, Any]:
    rollout = await services.deployments.retry_dead(caller, dead_id)
    return {"deployments": [deployment_json(d) for d in rollout.deployments]}

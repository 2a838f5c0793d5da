"""Live stats of a target's running containers, streamed: one JSON object per line and
per second (``{container_id: stats}``), or ``{"error", "message"}`` when the stream ends
on a problem. Refused up front (as a status) when the caller may not read the target."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ...domain.errors import WindFlowError
from ...domain.identity import Principal
from ..deps import Caller, Services
from ..serialize import plain

router = APIRouter(tags=["containers"])


@router.get("/targets/{target_id}/stats")
async def stats(target_id: uuid.UUID, caller: Caller, services: Services) -> StreamingResponse:
    await services.targets.get_target(caller, target_id)
    return StreamingResponse(_lines(services, caller, target_id),
                             media_type="application/x-ndjson",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _lines(services: Any, caller: Principal, target_id: uuid.UUID
                 ) -> AsyncIterator[str]:
    batches = services.stats.watch(caller, target_id)
    async with contextlib.aclosing(batches):
        try:
            async for batch in batches:
                yield json.dumps({key: plain(value) for key, value in batch.items()}) + "\n"
        except WindFlowError as exc:
            yield json.dumps({"error": exc.code, "message": exc.message}) + "\n"

"""A target's containers: list, inspect (secret values masked), start, stop, restart,
remove, the last lines of a log, and a log followed live as Server-Sent Events.

The follow stream (``GET …/logs/follow``, ``text/event-stream``): one ``line`` event per
log line (``data``: the line as a JSON string), a ``: ping`` comment every 15 s while the
container is quiet, then ``end`` when the container's output ends, or ``error``
(``data``: ``{"error", "message", "details", "status"}``, the body and status a request
would have answered with) when the engine fails mid-stream. What can be refused before
any line (permission, unknown target or container, unreachable engine) is refused as an
ordinary error answer, since the container is looked up first."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from ...domain.errors import ValidationError, WindFlowError, http_status
from ...domain.identity import Principal
from ..deps import Caller, Services
from ..errors import error_body
from ..serialize import plain

log = logging.getLogger("windflow.server")
router = APIRouter(prefix="/targets/{target_id}/containers", tags=["containers"])
PING_S = 15.0
# An engine's id (64 hex, or a prefix) or a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]+).
ContainerId = Annotated[str, Path(min_length=1, max_length=255,
                                  pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Grace = Annotated[int, Query(ge=0, le=3600)]
Tail = Annotated[int, Query(ge=0, le=10_000)]


@router.get("")
async def list_containers(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.containers.list_containers(caller, target_id))


@router.get("/{container_id}")
async def inspect(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
                  services: Services, raw: bool = False) -> dict[str, Any]:
    """The engine's description of the container, secret values masked; ``raw`` (needs
    ``containers:manage``) leaves them as they are."""
    info: dict[str, Any] = await services.containers.inspect(caller, target_id, container_id,
                                                             raw=raw)
    return info


@router.post("/{container_id}/start", status_code=204)
async def start(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
                services: Services) -> None:
    await services.containers.start(caller, target_id, container_id)


@router.post("/{container_id}/stop", status_code=204)
async def stop(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
               services: Services, grace_s: Grace = 10) -> None:
    await services.containers.stop(caller, target_id, container_id, grace_s=grace_s)


@router.post("/{container_id}/restart", status_code=204)
async def restart(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
                  services: Services, grace_s: Grace = 10) -> None:
    await services.containers.restart(caller, target_id, container_id, grace_s=grace_s)


@router.delete("/{container_id}", status_code=204)
async def remove(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
                 services: Services, force: bool = False) -> None:
    await services.containers.remove(caller, target_id, container_id, force=force)


@router.get("/{container_id}/logs")
async def logs(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
               services: Services, tail: Tail = 200) -> dict[str, list[str]]:
    """The container's last ``tail`` lines (known secret values masked)."""
    return {"lines": await services.containers.logs(caller, target_id, container_id,
                                                    tail=tail)}


@router.get("/{container_id}/logs/follow")
async def follow_logs(target_id: uuid.UUID, container_id: ContainerId, caller: Caller,
                      services: Services, tail: Tail = 100) -> StreamingResponse:
    """The container's log live, as SSE (see the module's docstring)."""
    # Refused now, as a status, rather than as the stream's first event: the same
    # permission (targets:read) and the same lookups the follow makes.
    await services.containers.inspect(caller, target_id, container_id)
    return StreamingResponse(
        _stream(services, caller, target_id, container_id, tail),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


_END = object()


async def _stream(services: Any, caller: Principal, target_id: uuid.UUID,
                  container_id: str, tail: int) -> AsyncIterator[str]:
    # The lines are read by a task of their own, so that a quiet log still pings (and a
    # dead connection is noticed) without cancelling the read in the middle of a line.
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)

    async def read() -> None:
        try:
            lines = services.containers.follow_logs(caller, target_id, container_id,
                                                    tail=tail)
            async with contextlib.aclosing(lines):
                async for line in lines:
                    await queue.put(line)
            await queue.put(_END)
        except WindFlowError as exc:
            await queue.put(exc)
        except Exception:
            log.exception("following the log of %s on %s failed", container_id, target_id)
            await queue.put(WindFlowError("the server failed to follow this log; its log "
                                          "says why", code="INTERNAL_ERROR"))

    reader = asyncio.create_task(read(), name=f"follow-{container_id[:12]}")
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), PING_S)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if item is _END:
                yield "event: end\ndata: {}\n\n"
                return
            if isinstance(item, WindFlowError):
                status = 500 if item.code == "INTERNAL_ERROR" else http_status(item)
                field = item.field if isinstance(item, ValidationError) else None
                body = error_body(item.code, item.message, {"field": field} if field else None)
                yield f"event: error\ndata: {json.dumps({**body, 'status': status})}\n\n"
                return
            yield f"event: line\ndata: {json.dumps(item)}\n\n"
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)

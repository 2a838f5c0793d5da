"""Deployments: create (answers once they are recorded; they run on the server), paged
list, the current one of each project, one deployment, its stages and log lines (paged by
sequence, forwards or the newest before a point, or followed live), the values a next
deployment starts from, preview, the lifecycle actions, rollback and cancel.

Following a log (``GET /deployments/{id}/logs/follow?after_seq=N``) answers chunked JSON
lines (``application/x-ndjson``), one object a line: ``{"type": "log", "seq", "ts",
"stream", "line"}`` for each line in seq order, ``{"type": "ping"}`` every 15 s of quiet,
``{"type": "end", "status", "error"}`` once the deployment has ended and every line was
sent, or ``{"type": "error", "status", "error", "message", "details"}`` when the caller
may no longer read it. A stream that stops without ``end`` (a server restart) is resumed
with the last seq seen: no line is lost or sent twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ...domain.deployment_flow import Rollout
from ...domain.enums import DeploymentStatus
from ...domain.errors import ValidationError, WindFlowError, http_status
from ...domain.identity import Principal
from ...domain.models import DeploymentLog
from ...domain.paging import PageRequest
from ..deps import Caller, Cursor, Limit, Services
from ..feed import EventFeed
from ..serialize import deployment_json, page_json, plain, stage_json

router = APIRouter(prefix="/deployments", tags=["deployments"])
Values = Annotated[dict[str, Annotated[str | None, Field(max_length=65536)]],
                   Field(max_length=500)]


class NewDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stack_id: uuid.UUID
    target_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=200)]
    variables: Values = {}
    overrides: Annotated[dict[uuid.UUID, Values], Field(max_length=200)] = {}
    revision: Annotated[int | None, Field(ge=1)] = None
    parallel: Annotated[int, Field(ge=1, le=16)] = 4
    stop_on_failure: bool = False


class Preview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stack_id: uuid.UUID
    target_id: uuid.UUID
    variables: Values = {}
    revision: Annotated[int | None, Field(ge=1)] = None


class Redeploy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variables: Values = {}
    revision: Annotated[int | None, Field(ge=0)] = None
    pull_images: bool = False  # an update: every image pulled again


SeqQuery = Annotated[int, Query(ge=0)]
LineLimit = Annotated[int, Query(ge=1, le=5000)]
FOLLOW_BATCH = 5000
PING_S = 15.0
QUIET_POLL_S = 1.0  # a log event wakes the follower at once; this is the fallback


def _started(rollout: Rollout) -> dict[str, Any]:
    return {"deployments": [deployment_json(d) for d in rollout.deployments]}


def _lines(lines: Sequence[DeploymentLog]) -> dict[str, Any]:
    return {"lines": [[line.seq, line.ts.isoformat(), line.stream.value, line.line]
                      for line in lines]}


@router.post("", status_code=202)
async def deploy(body: NewDeployment, caller: Caller, services: Services,
                 idempotency_key: Annotated[str | None, Header(
                     alias="Idempotency-Key", max_length=200)] = None) -> dict[str, Any]:
    """With an ``Idempotency-Key``, the same request made again answers the same
    deployments and starts nothing."""
    return _started(await services.deployments.deploy(
        caller, **body.model_dump(), idempotency_key=idempotency_key))


@router.post("/preview")
async def preview(body: Preview, caller: Caller, services: Services) -> Any:
    return plain(await services.deployments.preview(caller, **body.model_dump()))


@router.get("/current")
async def current_deployments(caller: Caller, services: Services) -> list[dict[str, Any]]:
    """The deployment that holds each project (stack and target) of the organization."""
    return [deployment_json(d) for d in
            await services.deployments.current_deployments(caller)]


@router.get("/previous-values")
async def previous_values(caller: Caller, services: Services, stack_id: uuid.UUID,
                          target_id: uuid.UUID) -> Any:
    """What a next deployment of the stack on the target starts from (secrets by name)."""
    return plain(await services.deployments.previous_values(caller, stack_id, target_id))


@router.get("")
async def list_deployments(caller: Caller, services: Services, limit: Limit = 100,
                           cursor: Cursor = None,
                           status: Annotated[list[DeploymentStatus] | None, Query()] = None,
                           target_id: uuid.UUID | None = None,
                           stack_id: uuid.UUID | None = None) -> dict[str, Any]:
    return page_json(await services.deployments.list_deployments(
        caller, PageRequest(limit, cursor), status=status, target_id=target_id,
        stack_id=stack_id), deployment_json)


@router.get("/{deployment_id}")
async def get_deployment(deployment_id: uuid.UUID, caller: Caller, services: Services
                         ) -> dict[str, Any]:
    return deployment_json(await services.deployments.get(caller, deployment_id))


@router.get("/{deployment_id}/stages")
async def stages(deployment_id: uuid.UUID, caller: Caller, services: Services
                 ) -> list[dict[str, Any]]:
    return [stage_json(s) for s in await services.deployments.stages(caller, deployment_id)]


@router.get("/{deployment_id}/logs")
async def logs(deployment_id: uuid.UUID, caller: Caller, services: Services,
               after_seq: SeqQuery = 0, limit: LineLimit = 1000) -> dict[str, Any]:
    return _lines(await services.deployments.logs(caller, deployment_id, after_seq=after_seq,
                                                  limit=limit))


@router.get("/{deployment_id}/logs/page")
async def log_page(deployment_id: uuid.UUID, caller: Caller, services: Services,
                   before_seq: Annotated[int | None, Query(ge=1)] = None,
                   limit: LineLimit = 1000) -> dict[str, Any]:
    """The newest ``limit`` lines before ``before_seq`` (the end when left out)."""
    return _lines(await services.deployments.log_page(caller, deployment_id,
                                                      before_seq=before_seq, limit=limit))


@router.get("/{deployment_id}/logs/follow")
async def follow_logs(request: Request, deployment_id: uuid.UUID, caller: Caller,
                      services: Services, after_seq: SeqQuery = 0) -> StreamingResponse:
    """The lines after ``after_seq``, then each new one as it is written, until the
    deployment has ended (chunked JSON lines; see the module's docstring)."""
    await services.deployments.get(caller, deployment_id)  # 403/404 before the stream
    feed: EventFeed = request.app.state.feed
    return StreamingResponse(_follow(feed, services, caller, deployment_id, after_seq),
                             media_type="application/x-ndjson",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _follow(feed: EventFeed, services: Any, caller: Principal,
                  deployment_id: uuid.UUID, after_seq: int) -> AsyncIterator[str]:
    wanted = str(deployment_id)
    seq = after_seq
    loop = asyncio.get_running_loop()
    with feed.listening() as queue:  # first: a line written while reading is not missed
        try:
            said = loop.time()
            while True:
                # The status first: lines read after it are all there are once it ended.
                dep = await services.deployments.get(caller, deployment_id)
                while True:
                    batch = await services.deployments.logs(
                        caller, deployment_id, after_seq=seq, limit=FOLLOW_BATCH)
                    if batch:
                        seq = batch[-1].seq
                        said = loop.time()
                        yield "".join(_json({"type": "log", "seq": line.seq,
                                             "ts": line.ts.isoformat(),
                                             "stream": line.stream.value,
                                             "line": line.line}) for line in batch)
                    if len(batch) < FOLLOW_BATCH:
                        break
                if dep.status.is_terminal:
                    yield _json({"type": "end", "status": dep.status.value,
                                 "error": dep.error})
                    return
                if not await _woken(queue, wanted):
                    return  # the feed ended (the server stops): the client resumes
                if loop.time() - said >= PING_S:
                    said = loop.time()
                    yield _json({"type": "ping"})
        except WindFlowError as exc:
            details = {"field": exc.field} if isinstance(exc, ValidationError) and \
                exc.field else {}
            yield _json({"type": "error", "status": http_status(exc), "error": exc.code,
                         "message": exc.message, "details": details})


async def _woken(queue: asyncio.Queue[Any], wanted: str) -> bool:
    """Wait for an event about the deployment, or a quiet spell (then look anyway);
    False when the feed ended this queue (the server stops, or this reader fell behind:
    the client resumes either way)."""
    try:
        while True:
            numbered = await asyncio.wait_for(queue.get(), QUIET_POLL_S)
            if numbered is None:
                return False
            if numbered.event.aggregate_id == wanted:
                break
    except TimeoutError:
        return True
    while not queue.empty():  # whatever else arrived is read by the next look
        if queue.get_nowait() is None:
            return False
    return True


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


@router.post("/{deployment_id}/redeploy", status_code=202)
async def redeploy(deployment_id: uuid.UUID, body: Redeploy, caller: Caller,
                   services: Services) -> dict[str, Any]:
    return _started(await services.deployments.redeploy(caller, deployment_id,
                                                        **body.model_dump()))


@router.post("/{deployment_id}/rollback", status_code=202)
async def rollback(deployment_id: uuid.UUID, caller: Caller, services: Services
                   ) -> dict[str, Any]:
    return _started(await services.deployments.rollback(caller, deployment_id))


@router.post("/{deployment_id}/{action}")
async def act(deployment_id: uuid.UUID,
              action: Annotated[str, Path(pattern="^(cancel|stop|start|remove)$")],
              caller: Caller, services: Services, volumes: bool = False) -> dict[str, Any]:
    deployments = services.deployments
    if action == "remove":
        return deployment_json(await deployments.remove(caller, deployment_id,
                                                        volumes=volumes))
    verb = {"cancel": deployments.cancel, "stop": deployments.stop,
            "start": deployments.start}[action]
    return deployment_json(await verb(caller, deployment_id))

"""Deployments: create (answers once they are recorded; they run on the server), paged
list, one deployment, its stages and log lines (paged by sequence), preview, the
lifecycle actions, rollback and cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ...domain.enums import DeploymentStatus
from ...domain.paging import PageRequest
from ...services.deploy.rollouts import Rollout
from ..deps import Caller, Cursor, Limit, Services
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


def _started(rollout: Rollout) -> dict[str, Any]:
    return {"deployments": [deployment_json(d) for d in rollout.deployments]}


@router.post("", status_code=202)
async def deploy(body: NewDeployment, caller: Caller, services: Services) -> dict[str, Any]:
    return _started(await services.deployments.deploy(caller, **body.model_dump()))


@router.post("/preview")
async def preview(body: Preview, caller: Caller, services: Services) -> Any:
    return plain(await services.deployments.preview(caller, **body.model_dump()))


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
               after_seq: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> dict[str, Any]:
    lines = await services.deployments.logs(caller, deployment_id, after_seq=after_seq,
                                            limit=limit)
    return {"lines": [[line.seq, line.ts.isoformat(), line.stream.value, line.line]
                      for line in lines]}


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

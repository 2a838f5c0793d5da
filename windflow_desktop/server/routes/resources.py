"""Read routes over targets, stacks and deployments: keyset-paged lists and single
items (more actions come route by route; every one calls the same service as the
desktop, with the caller's principal — the services check the roles)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...domain.enums import DeploymentStatus
from ...domain.paging import MAX_PAGE_SIZE, PageRequest
from ..deps import Caller, Services
from ..serialize import deployment_json, page_json, stack_json, stage_json, target_json

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("/targets")
async def list_targets(caller: Caller, services: Services, limit: Limit = 100,
                       cursor: Cursor = None) -> dict[str, Any]:
    page = await services.targets.list_targets(caller, PageRequest(limit, cursor))
    return page_json([target_json(t) for t in page.items], page.next_cursor)


@router.get("/targets/{target_id}")
async def get_target(target_id: uuid.UUID, caller: Caller, services: Services
                     ) -> dict[str, Any]:
    return target_json(await services.targets.get_target(caller, target_id))


@router.get("/stacks")
async def list_stacks(caller: Caller, services: Services, limit: Limit = 100,
                      cursor: Cursor = None, archived: bool = False) -> dict[str, Any]:
    page = await services.stacks.list_stacks(caller, PageRequest(limit, cursor),
                                             archived=archived)
    return page_json([stack_json(s) for s in page.items], page.next_cursor)


@router.get("/stacks/{stack_id}")
async def get_stack(stack_id: uuid.UUID, caller: Caller, services: Services
                    ) -> dict[str, Any]:
    return stack_json(await services.stacks.get_stack(caller, stack_id))


@router.get("/deployments")
async def list_deployments(caller: Caller, services: Services, limit: Limit = 100,
                           cursor: Cursor = None,
                           status: Annotated[list[DeploymentStatus] | None, Query()] = None,
                           target_id: uuid.UUID | None = None,
                           stack_id: uuid.UUID | None = None) -> dict[str, Any]:
    page = await services.deployments.list_deployments(
        caller, PageRequest(limit, cursor), status=status, target_id=target_id,
        stack_id=stack_id)
    return page_json([deployment_json(d) for d in page.items], page.next_cursor)


@router.get("/deployments/{deployment_id}")
async def get_deployment(deployment_id: uuid.UUID, caller: Caller, services: Services
                         ) -> dict[str, Any]:
    return deployment_json(await services.deployments.get(caller, deployment_id))


@router.get("/deployments/{deployment_id}/stages")
async def deployment_stages(deployment_id: uuid.UUID, caller: Caller, services: Services
                            ) -> list[dict[str, Any]]:
    return [stage_json(s) for s in await services.deployments.stages(caller, deployment_id)]


@router.get("/deployments/{deployment_id}/logs")
async def deployment_logs(deployment_id: uuid.UUID, caller: Caller, services: Services,
                          after_seq: Annotated[int, Query(ge=0)] = 0,
                          limit: Annotated[int, Query(ge=1, le=5000)] = 1000
                          ) -> dict[str, Any]:
    lines = await services.deployments.logs(caller, deployment_id, after_seq=after_seq,
                                            limit=limit)
    return {"lines": [[line.seq, line.ts.isoformat(), str(line.stream.value), line.line]
                      for line in lines]}

"""Targets: paged list, one target, create (its secret sealed, never returned), change,
delete, connection test and capability scan."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ...domain.enums import TargetAuth, TargetKind
from ...domain.paging import PageRequest
from ...domain.targets import TargetSpec
from ..deps import Caller, Cursor, Limit, Services
from ..host_keys import HostKeyDecisions
from ..serialize import page_json, plain, target_json

router = APIRouter(prefix="/targets", tags=["targets"])


class TargetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: TargetKind = TargetKind.LOCAL
    host: Annotated[str, Field(max_length=255)] = ""
    port: Annotated[int | None, Field(ge=1, le=65535)] = None
    username: Annotated[str, Field(max_length=100)] = ""
    auth: TargetAuth = TargetAuth.NONE
    key_file: Annotated[str, Field(max_length=4096)] = ""
    docker_socket: Annotated[str, Field(max_length=4096)] = ""
    ca_file: Annotated[str, Field(max_length=4096)] = ""
    cert_file: Annotated[str, Field(max_length=4096)] = ""
    client_key_file: Annotated[str, Field(max_length=4096)] = ""
    insecure: bool = False
    labels: dict[str, Annotated[str, Field(max_length=255)]] = {}
    secret: Annotated[str | None, Field(max_length=65536)] = None

    def spec(self) -> TargetSpec:
        return TargetSpec(**self.model_dump(exclude={"secret"}))


@router.get("")
async def list_targets(caller: Caller, services: Services, limit: Limit = 100,
                       cursor: Cursor = None) -> dict[str, Any]:
    targets = await services.targets.list_targets(caller, PageRequest(limit, cursor))
    return page_json(targets, target_json)


@router.post("", status_code=201)
async def create_target(body: TargetBody, caller: Caller, services: Services
                        ) -> dict[str, Any]:
    return target_json(await services.targets.create_target(caller, body.spec(), body.secret))


@router.get("/{target_id}")
async def get_target(target_id: uuid.UUID, caller: Caller, services: Services
                     ) -> dict[str, Any]:
    return target_json(await services.targets.get_target(caller, target_id))


@router.delete("/{target_id}", status_code=204)
async def delete_target(target_id: uuid.UUID, caller: Caller, services: Services) -> None:
    await services.targets.delete_target(caller, target_id)


@router.post("/{target_id}/test")
async def test_connection(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.targets.test_connection(caller, target_id))


@router.post("/{target_id}/scan")
async def scan(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.targets.scan(caller, target_id))


class HostKeyTrust(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fingerprint: Annotated[str, Field(min_length=8, max_length=200)]


@router.get("/{target_id}/host-key")
async def pending_host_key(target_id: uuid.UUID, request: Request, caller: Caller,
                           services: Services) -> Any:
    """The host key the target offered and nobody trusted yet (null: none pending)."""
    target = await services.targets.get_target(caller, target_id)
    decisions: HostKeyDecisions = request.app.state.host_keys
    return plain(decisions.pending(target.host, target.port or 22))


@router.post("/{target_id}/host-key", status_code=204)
async def trust_host_key(target_id: uuid.UUID, body: HostKeyTrust, request: Request,
                         caller: Caller, services: Services) -> None:
    """Trust the pending host key with this fingerprint (needs ``targets:write``); the
    next connection takes it."""
    decisions: HostKeyDecisions = request.app.state.host_keys
    await services.targets.trust_host_key(
        caller, target_id, body.fingerprint,
        lambda target: decisions.trust(target.host, target.port or 22, body.fingerprint))

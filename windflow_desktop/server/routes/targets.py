"""Targets: paged list (filtered by status and kind), one target, its capabilities,
create and change (the secret sealed, never returned), delete, connection test of a
saved target or of a draft, capability scan, one round of health checks, the SSH host
key (pending, trusted, forgotten)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ...domain.enums import TargetAuth, TargetKind, TargetStatus
from ...domain.paging import PageRequest
from ...domain.targets import TargetSpec
from ..deps import Caller, Cursor, Limit, Services
from ..host_keys import HostKeyDecisions
from ..serialize import plain, shared_page_json, target_json

_UNCHANGED = object()

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

    def given_secret(self) -> Any:
        """The secret as the service takes it on a change: left out of the body, the
        saved one is kept; ``null`` or ``""`` drops it."""
        return self.secret if "secret" in self.model_fields_set else _UNCHANGED


class DraftBody(TargetBody):
    """A target not saved yet (the add/edit wizard's test); ``target_id``: the saved
    target being edited, whose secret the test may reuse for the same endpoint."""

    target_id: uuid.UUID | None = None

    def spec(self) -> TargetSpec:
        return TargetSpec(**self.model_dump(exclude={"secret", "target_id"}))


class HealthRound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_ids: Annotated[list[uuid.UUID] | None, Field(max_length=1000)] = None


@router.get("")
async def list_targets(caller: Caller, services: Services, limit: Limit = 100,
                       cursor: Cursor = None, status: TargetStatus | None = None,
                       kind: TargetKind | None = None,
                       search: Annotated[str | None, Query(max_length=200)] = None
                       ) -> dict[str, Any]:
    targets = await services.targets.list_targets(
        caller, PageRequest(limit, cursor, search), status=status, kind=kind)
    return shared_page_json(targets, target_json)


@router.post("", status_code=201)
async def create_target(body: TargetBody, caller: Caller, services: Services
                        ) -> dict[str, Any]:
    return target_json(await services.targets.create_target(caller, body.spec(), body.secret))


@router.post("/test-draft")
async def test_draft(body: DraftBody, caller: Caller, services: Services) -> Any:
    """The step-by-step test of a target before it is saved; nothing is stored."""
    return plain(await services.targets.test_draft(
        caller, body.spec(), body.secret, target_id=body.target_id))


@router.post("/health")
async def check_health(body: HealthRound, caller: Caller, services: Services) -> Any:
    """One round of health checks now (the server also runs its own loop): each
    target's engine pinged, status and ``last_seen`` saved; all targets when
    ``target_ids`` is null."""
    return plain(await services.targets.check_health(caller, body.target_ids))


@router.get("/{target_id}")
async def get_target(target_id: uuid.UUID, caller: Caller, services: Services
                     ) -> dict[str, Any]:
    return target_json(await services.targets.get_target(caller, target_id))


@router.put("/{target_id}")
async def update_target(target_id: uuid.UUID, body: TargetBody, caller: Caller,
                        services: Services) -> dict[str, Any]:
    """Change the target; the saved secret is kept unless ``secret`` is given."""
    spec, secret = body.spec(), body.given_secret()
    if secret is _UNCHANGED:
        target = await services.targets.update_target(caller, target_id, spec)
    else:
        target = await services.targets.update_target(caller, target_id, spec, secret)
    return target_json(target)


@router.get("/{target_id}/capabilities")
async def capabilities(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.targets.capabilities(caller, target_id))


@router.delete("/{target_id}", status_code=204)
async def delete_target(target_id: uuid.UUID, caller: Caller, services: Services) -> None:
    await services.targets.delete_target(caller, target_id)


@router.post("/{target_id}/test")
async def test_connection(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    return plain(await services.targets.test_connection(caller, target_id))


@router.post("/{target_id}/scan")
async def scan(target_id: uuid.UUID, caller: Caller, services: Services) -> Any:
    outcome = await services.targets.scan(caller, target_id)
    # The target as everywhere else: without its secret reference.
    return {"target": target_json(outcome.target),
            "capabilities": plain(outcome.capabilities)}


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


@router.delete("/{target_id}/host-key")
async def forget_host_key(target_id: uuid.UUID, caller: Caller, services: Services
                          ) -> dict[str, bool]:
    """Forget the stored host key of an SSH target (needs ``targets:write``);
    ``forgotten`` says whether there was one."""
    return {"forgotten": await services.targets.forget_host_key(caller, target_id)}

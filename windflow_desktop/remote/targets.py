"""``RemoteTargets``: the targets protocol (``TargetsApi``) over a WindFlow server — the
server reaches the machines; this desktop only asks. Each method calls the route that
calls the same ``TargetService`` method with the token's caller (the ``principal``
argument is accepted for the protocol and not sent)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..domain.enums import TargetKind, TargetStatus
from ..domain.identity import Principal
from ..domain.models import HostKeyPrompt, Target, TargetCapability
from ..domain.paging import Page, PageRequest
from ..domain.targets import ConnectionReport, HealthResult, ScanOutcome, TargetSpec
from .client import ServerSession
from .decode import decode

# How many scans the desktop asks the server for at once (the server bounds its own work).
CONCURRENCY = 8
_UNCHANGED: Any = ...


class RemoteTargets:
    def __init__(self, session: ServerSession, *, concurrency: int = CONCURRENCY) -> None:
        self._session = session
        self._concurrency = concurrency

    @property
    def concurrency(self) -> int:
        return self._concurrency

    # -- reading -------------------------------------------------------------------------

    async def list_targets(self, principal: Principal, page: PageRequest | None = None, *,
                           status: TargetStatus | None = None,
                           kind: TargetKind | None = None) -> Page[Target]:
        page = page or PageRequest(limit=1000)  # the service's own default
        params: dict[str, Any] = {"limit": page.limit}
        for key, value in (("cursor", page.after), ("search", page.search),
                           ("status", status and status.value),
                           ("kind", kind and kind.value)):
            if value is not None:
                params[key] = value
        data = await self._session.request("GET", "/targets", params=params)
        return decode(Page[Target], data)

    async def get_target(self, principal: Principal, target_id: uuid.UUID) -> Target:
        return decode(Target, await self._session.request("GET", f"/targets/{target_id}"))

    async def capabilities(self, principal: Principal,
                           target_id: uuid.UUID) -> list[TargetCapability]:
        data = await self._session.request("GET", f"/targets/{target_id}/capabilities")
        return decode(list[TargetCapability], data)

    # -- writing -------------------------------------------------------------------------

    async def create_target(self, principal: Principal, spec: TargetSpec,
                            secret: str | None = None) -> Target:
        body = {**_spec_json(spec), "secret": secret}
        return decode(Target, await self._session.request("POST", "/targets", json=body))

    async def update_target(self, principal: Principal, target_id: uuid.UUID, spec: TargetSpec,
                            secret: Any = _UNCHANGED) -> Target:
        """Change the target; the saved secret is kept unless ``secret`` is given
        (``None`` or ``""`` drops it), as in the service."""
        body = _spec_json(spec)
        if secret is not _UNCHANGED:
            body["secret"] = secret
        data = await self._session.request("PUT", f"/targets/{target_id}", json=body)
        return decode(Target, data)

    async def delete_target(self, principal: Principal, target_id: uuid.UUID) -> None:
        await self._session.request("DELETE", f"/targets/{target_id}")

    async def forget_host_key(self, principal: Principal, target_id: uuid.UUID) -> bool:
        """Forget the host key the server keeps for this SSH target."""
        data = await self._session.request("DELETE", f"/targets/{target_id}/host-key")
        return bool(data["forgotten"])

    # -- reaching targets (the server does) ----------------------------------------------

    async def test_connection(self, principal: Principal, target_id: uuid.UUID,
                              on_step: StepCallback | None = None) -> ConnectionReport:
        """The server's step-by-step test of a saved target (its status is saved).
        Over HTTP the steps arrive together with the report: ``on_step`` is called for
        each of them, in order, once the answer is in (not live as in local mode)."""
        data = await self._session.request("POST", f"/targets/{target_id}/test")
        return _replayed(decode(ConnectionReport, data), on_step)

    async def test_draft(self, principal: Principal, spec: TargetSpec, secret: str | None = None,
                         on_step: StepCallback | None = None, *,
                         target_id: uuid.UUID | None = None) -> ConnectionReport:
        """The server's test of a target not saved yet (nothing is stored); ``target_id``
        lets it reuse that saved target's secret for the same endpoint. ``on_step`` is
        called for each step once the answer is in (see ``test_connection``)."""
        body = {**_spec_json(spec), "secret": secret,
                "target_id": str(target_id) if target_id is not None else None}
        data = await self._session.request("POST", "/targets/test-draft", json=body)
        return _replayed(decode(ConnectionReport, data), on_step)

    async def scan(self, principal: Principal, target_id: uuid.UUID) -> ScanOutcome:
        data = await self._session.request("POST", f"/targets/{target_id}/scan")
        return decode(ScanOutcome, data)

    async def check_health(self, principal: Principal,
                           target_ids: Iterable[uuid.UUID] | None = None) -> list[HealthResult]:
        """One round of health checks run by the server now (it also runs its own loop,
        so in remote mode the statuses arrive as events either way)."""
        ids = None if target_ids is None else [str(i) for i in target_ids]
        data = await self._session.request("POST", "/targets/health",
                                           json={"target_ids": ids})
        return decode(list[HealthResult], data)

    # -- beyond the protocol: on a server, a new SSH host key waits for a person ---------
    # (no dialog can ask there: the connection is refused and the key kept as pending;
    # someone with targets:write trusts that exact fingerprint, the next connection
    # takes it — server/host_keys.py)

    async def pending_host_key(self, principal: Principal,
                               target_id: uuid.UUID) -> HostKeyPrompt | None:
        """The host key the target offered the server and nobody trusted yet."""
        data = await self._session.request("GET", f"/targets/{target_id}/host-key")
        return decode(HostKeyPrompt | None, data)

    async def trust_host_key(self, principal: Principal, target_id: uuid.UUID,
                             fingerprint: str) -> None:
        """Trust the pending key with this fingerprint (``ConflictError`` when it is not
        the one the host offered)."""
        await self._session.request("POST", f"/targets/{target_id}/host-key",
                                    json={"fingerprint": fingerprint})


def _spec_json(spec: TargetSpec) -> dict[str, Any]:
    out = dataclasses.asdict(spec)
    out["kind"], out["auth"] = spec.kind.value, spec.auth.value
    return out


def _replayed(report: ConnectionReport, on_step: StepCallback | None) -> ConnectionReport:
    if on_step is not None:
        for step in report.steps:
            on_step(step)
    return report


if TYPE_CHECKING:
    from ..services.protocols import StepCallback, TargetsApi

    def _conforms(remote: RemoteTargets) -> TargetsApi:
        return remote

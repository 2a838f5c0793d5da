"""``RemoteDeployments``: the ``DeploymentsApi`` over a WindFlow server's ``/deployments``
routes, and ``follow_logs`` for a log read while it is written (the CLI's ``--wait``).

Deployments run on the server: ``deploy`` answers once they are recorded, and the
``Rollout`` it returns waits (``wait()``) by asking the server until each has ended. The
server never sends a secret value: a deployment names its secret variables only, and
here each has an empty reference (``{"secret_ref": ""}``) — nothing on this computer can
read it. ``follow_logs`` reads the server's chunked JSON lines (``application/x-ndjson``,
see ``server/routes/deployments.py``) and resumes after the last seq when the stream is
cut (a server restart): each line arrives once, in order. The ``principal`` argument is
accepted and not sent: the server acts for the caller of the session's token."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from ..domain.deployment_flow import Rollout
from ..domain.enums import DeploymentStatus, LogStream
from ..domain.identity import Principal
from ..domain.models import (
    Deployment,
    DeploymentLog,
    DeploymentStageRecord,
    DeployPreview,
    PreviousValues,
)
from ..domain.paging import Page, PageRequest
from .client import ServerSession, response_lines
from .decode import decode
from .errors import from_response, from_transport
from .stacks import page_params

WAIT_POLL_S = 0.25
# The server says something at least every 15 s (a ping); silence for longer is a cut.
FOLLOW_TIMEOUT = httpx.Timeout(15.0, read=45.0)
FOLLOW_RESUME_S = 30.0  # how long a cut follow keeps trying to resume


def deployment_of(data: dict[str, Any]) -> Deployment:
    """A deployment as the server sends it, its secret variables named again (with an
    empty reference: the value stays on the server)."""
    variables = dict(data.get("variables") or {})
    variables.update({name: {"secret_ref": ""} for name in data.get("secret_variables", ())})
    return decode(Deployment, {**data, "variables": variables})


def lines_of(deployment_id: uuid.UUID, answer: dict[str, Any]) -> list[DeploymentLog]:
    """``{"lines": [[seq, ts, stream, line], …]}`` as log lines."""
    return [DeploymentLog(deployment_id, int(seq), str(line), LogStream(stream),
                          datetime.fromisoformat(ts))
            for seq, ts, stream, line in answer["lines"]]


class RemoteRollout(Rollout):
    """The deployments one request created on the server; ``wait()`` asks the server
    until each has ended (the server's own rollout runs them)."""

    def __init__(self, deployments: list[Deployment], remote: RemoteDeployments,
                 principal: Principal) -> None:
        super().__init__(deployments)
        self._remote = remote
        self._principal = principal

    async def wait(self) -> list[Deployment]:
        states = list(self.deployments)
        while True:
            states = [dep if dep.status.is_terminal
                      else await self._remote.get(self._principal, dep.id) for dep in states]
            if all(dep.status.is_terminal for dep in states):
                return states
            await asyncio.sleep(WAIT_POLL_S)


class RemoteDeployments:
    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        return await self._session.request(method, f"/deployments{path}", json=json,
                                           params=params)

    def _rollout(self, principal: Principal, answer: dict[str, Any]) -> Rollout:
        return RemoteRollout([deployment_of(d) for d in answer["deployments"]], self,
                             principal)

    # -- reading --------------------------------------------------------------------------

    async def list_deployments(self, principal: Principal, page: PageRequest | None = None, *,
                               status: Sequence[DeploymentStatus] | None = None,
                               target_id: uuid.UUID | None = None,
                               stack_id: uuid.UUID | None = None) -> Page[Deployment]:
        params = page_params(page)
        if status is not None:
            params["status"] = [s.value for s in status]
        if target_id is not None:
            params["target_id"] = str(target_id)
        if stack_id is not None:
            params["stack_id"] = str(stack_id)
        answer = await self._call("GET", "", params=params)
        return Page(tuple(deployment_of(d) for d in answer["items"]), answer["next_cursor"])

    async def get(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        return deployment_of(await self._call("GET", f"/{deployment_id}"))

    async def logs(self, principal: Principal, deployment_id: uuid.UUID, *, after_seq: int = 0,
                   limit: int = 1000) -> Sequence[DeploymentLog]:
        answer = await self._call("GET", f"/{deployment_id}/logs",
                                  params={"after_seq": after_seq, "limit": limit})
        return lines_of(deployment_id, answer)

    async def log_page(self, principal: Principal, deployment_id: uuid.UUID, *,
                       before_seq: int | None = None,
                       limit: int = 1000) -> Sequence[DeploymentLog]:
        params: dict[str, Any] = {"limit": limit}
        if before_seq is not None:
            params["before_seq"] = before_seq
        answer = await self._call("GET", f"/{deployment_id}/logs/page", params=params)
        return lines_of(deployment_id, answer)

    async def stages(self, principal: Principal,
                     deployment_id: uuid.UUID) -> Sequence[DeploymentStageRecord]:
        answer = await self._call("GET", f"/{deployment_id}/stages")
        return decode(list[DeploymentStageRecord], answer)

    async def previous_values(self, principal: Principal, stack_id: uuid.UUID,
                              target_id: uuid.UUID) -> PreviousValues:
        answer = await self._call("GET", "/previous-values", params={
            "stack_id": str(stack_id), "target_id": str(target_id)})
        return decode(PreviousValues, answer)

    async def current_deployments(self, principal: Principal) -> Sequence[Deployment]:
        return [deployment_of(d) for d in await self._call("GET", "/current")]

    async def follow_logs(self, principal: Principal, deployment_id: uuid.UUID, *,
                          after_seq: int = 0) -> AsyncIterator[DeploymentLog]:
        """The lines after ``after_seq``, then each new one, until the deployment has
        ended. A cut stream is resumed after the last line seen for ``FOLLOW_RESUME_S``;
        then the server is unreachable (``ServerUnreachableError``)."""
        seq = after_seq
        loop = asyncio.get_running_loop()
        cut_since: float | None = None
        attempt = 0
        while True:
            try:
                async with self._session.http.stream(
                        "GET", f"/deployments/{deployment_id}/logs/follow",
                        params={"after_seq": seq}, timeout=FOLLOW_TIMEOUT) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise from_response(response)
                    async with response_lines(response) as lines:
                        async for text in lines:
                            if not text.strip():
                                continue
                            item = json.loads(text)
                            cut_since, attempt = None, 0
                            kind = item.get("type")
                            if kind == "log" and int(item["seq"]) > seq:
                                seq = int(item["seq"])
                                yield DeploymentLog(deployment_id, seq, str(item["line"]),
                                                    LogStream(item["stream"]),
                                                    datetime.fromisoformat(item["ts"]))
                            elif kind == "end":
                                return
                            elif kind == "error":
                                raise from_response(httpx.Response(int(item["status"]), json={
                                    "error": item.get("error"), "message": item.get("message"),
                                    "details": item.get("details") or {}}))
                    failure: httpx.TransportError | None = None  # ended without "end"
            except httpx.TransportError as exc:
                failure = exc
            now = loop.time()
            cut_since = now if cut_since is None else cut_since
            if now - cut_since > FOLLOW_RESUME_S:
                raise from_transport(failure or httpx.RemoteProtocolError(
                    "the log stream kept ending early"), self._session.url)
            await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
            attempt += 1

    # -- deploying ------------------------------------------------------------------------

    async def preview(self, principal: Principal, stack_id: uuid.UUID, target_id: uuid.UUID,
                      variables: Mapping[str, str | None] | None = None,
                      revision: int | None = None) -> DeployPreview:
        answer = await self._call("POST", "/preview", json={
            "stack_id": str(stack_id), "target_id": str(target_id),
            "variables": dict(variables or {}), "revision": revision})
        return decode(DeployPreview, answer)

    async def deploy(self, principal: Principal, stack_id: uuid.UUID,
                     target_ids: Sequence[uuid.UUID], *,
                     variables: Mapping[str, str | None] | None = None,
                     overrides: Mapping[uuid.UUID, Mapping[str, str | None]] | None = None,
                     revision: int | None = None, parallel: int = 4,
                     stop_on_failure: bool = False) -> Rollout:
        answer = await self._call("POST", "", json={
            "stack_id": str(stack_id), "target_ids": [str(t) for t in target_ids],
            "variables": dict(variables or {}),
            "overrides": {str(t): dict(v) for t, v in (overrides or {}).items()},
            "revision": revision, "parallel": parallel, "stop_on_failure": stop_on_failure})
        return self._rollout(principal, answer)

    async def redeploy(self, principal: Principal, deployment_id: uuid.UUID, *,
                       variables: Mapping[str, str | None] | None = None,
                       revision: int | None = None, pull_images: bool = False) -> Rollout:
        answer = await self._call("POST", f"/{deployment_id}/redeploy", json={
            "variables": dict(variables or {}), "revision": revision,
            "pull_images": pull_images})
        return self._rollout(principal, answer)

    async def rollback(self, principal: Principal, deployment_id: uuid.UUID) -> Rollout:
        return self._rollout(principal, await self._call("POST", f"/{deployment_id}/rollback"))

    # -- lifecycle ------------------------------------------------------------------------

    async def cancel(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        return deployment_of(await self._call("POST", f"/{deployment_id}/cancel"))

    async def stop(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        return deployment_of(await self._call("POST", f"/{deployment_id}/stop"))

    async def start(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        return deployment_of(await self._call("POST", f"/{deployment_id}/start"))

    async def remove(self, principal: Principal, deployment_id: uuid.UUID, *,
                     volumes: bool = False) -> Deployment:
        return deployment_of(await self._call("POST", f"/{deployment_id}/remove",
                                              params={"volumes": volumes}))

    async def shutdown(self) -> None:
        """Nothing runs here: the server's deployments go on without this desktop."""


if TYPE_CHECKING:
    from ..services.protocols import DeploymentsApi

    _check: type[DeploymentsApi] = RemoteDeployments

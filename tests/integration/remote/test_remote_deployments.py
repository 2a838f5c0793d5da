"""``RemoteDeployments`` against a real ``windflow serve`` whose local target is the test
Docker engine: preview, deploy and redeploy a one-service busybox stack through the
client, wait for ``succeeded`` by asking the server, read its stages and log (paged and
followed live as chunked JSON lines), the values a next deployment starts from, then
stop, start and remove it — each checked against the engine and the plain HTTP API. Then
the errors: a viewer refused, a missing deployment, a missing value named."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest

from tests.env.docker import DockerEngine
from tests.support.deploy import compose_v2_config
from tests.support.server import (
    Server,
    acme_server,
    bearer,
    signed_in,
)
from windflow_desktop.domain.enums import ACTIVE_DEPLOYMENT, DeploymentStatus
from windflow_desktop.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.remote.deployments import RemoteDeployments
from windflow_desktop.remote.stacks import RemoteStacks

TINY = """\
services:
  web:
    image: localhost/busybox
    command: ["sh", "-c", "echo started; exec sleep 1000000"]
    environment:
      GREETING: "${GREETING}"
      TOKEN: "${TOKEN}"
    stop_signal: SIGKILL
"""
VARIABLES = [{"name": "GREETING", "required": True},
             {"name": "TOKEN", "secret": True, "generator": "password"}]
STAGES = ["preflight", "validate", "pull", "up", "health", "done"]
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)  # not sent: the token's caller acts
SUCCEEDED = DeploymentStatus.SUCCEEDED


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           docker_engine: DockerEngine) -> Iterator[Server]:
    """A server whose deployments run Compose v2 with projects under its own home."""
    home = tmp_path_factory.mktemp("server")
    with acme_server(home, DOCKER_CONFIG=str(compose_v2_config(home)),
                     HOME=str(home)) as running:
        yield running


def _containers(engine: DockerEngine, project: str, *, running: bool = True) -> list[str]:
    return engine.cli("ps", *(() if running else ("-a",)), "-q", "--filter",
                      f"label=com.docker.compose.project={project}").split()


async def test_a_stack_deployed_through_the_client_runs_on_the_servers_target(
        server: Server, docker_engine: DockerEngine) -> None:
    session = await signed_in(server, "olga")
    stacks, deployments = RemoteStacks(session), RemoteDeployments(session)
    try:
        made = await session.request("POST", "/targets", json={
            "name": "here", "kind": "local", "docker_socket": docker_engine.host})
        target_id = uuid.UUID(made["id"])
        stack, _ = await stacks.create_stack(NOBODY, name="Tiny", compose_yaml=TINY,
                                             variables=VARIABLES)
        fresh = await deployments.previous_values(NOBODY, stack.id, target_id)
        assert (fresh.plain, fresh.kept_secrets) == ({}, frozenset())

        preview = await deployments.preview(NOBODY, stack.id, target_id,
                                            {"GREETING": "hello"})
        assert preview.target_name == "here"
        assert preview.checks and all(c.ok for c in preview.checks), preview.checks
        assert "hello" in preview.config

        rollout = await deployments.deploy(NOBODY, stack.id, [target_id],
                                           variables={"GREETING": "hello"})
        [pending] = rollout.deployments
        assert pending.status in ACTIVE_DEPLOYMENT and pending.target_id == target_id
        # Followed live from the start: every line once, in order, until it ended.
        followed = [line async for line in deployments.follow_logs(NOBODY, pending.id)]
        [first] = await rollout.wait()  # asks the server until it ended
        assert first.status is SUCCEEDED, first.error
        assert (await deployments.get(NOBODY, first.id)).status is SUCCEEDED
        assert _containers(docker_engine, first.project_name)

        # The follow ends with the deployment; the watch after its success may write on.
        n = len(followed)
        assert [x.seq for x in followed] == list(range(1, n + 1)) and n > 3
        assert all(x.deployment_id == first.id for x in followed)
        logs = await deployments.logs(NOBODY, first.id, limit=5000)
        assert [(x.seq, x.line, x.stream) for x in logs[:n]] == \
            [(x.seq, x.line, x.stream) for x in followed]
        assert [x.seq for x in logs] == list(range(1, len(logs) + 1))
        assert [x.seq for x in await deployments.logs(NOBODY, first.id, after_seq=2,
                                                      limit=2)] == [3, 4]
        assert [x.seq for x in await deployments.log_page(NOBODY, first.id, before_seq=n + 1,
                                                          limit=2)] == [n - 1, n]
        newest = await deployments.log_page(NOBODY, first.id, limit=2)
        assert len(newest) == 2 and newest[0].seq >= n - 1
        tail = [x.seq async for x in deployments.follow_logs(NOBODY, first.id,
                                                             after_seq=n - 1)]
        assert tail == list(range(n, n + len(tail)))  # what is left, then the end

        stages = await deployments.stages(NOBODY, first.id)
        assert [(s.stage, s.outcome) for s in stages[:6]] == [(s, "succeeded")
                                                              for s in STAGES]
        assert [s.stage for s in stages[6:]] in ([], ["watch"])

        # The secret stays on the server: named, never sent.
        assert first.variables == {"GREETING": "hello", "TOKEN": {"secret_ref": ""}}
        with server.client() as http:
            raw = http.get(f"/api/v1/deployments/{first.id}", headers=bearer(
                session.access_token or "")).json()
        assert raw["status"] == "succeeded" and raw["secret_variables"] == ["TOKEN"]
        assert raw["variables"] == {"GREETING": "hello"}
        before = await deployments.previous_values(NOBODY, stack.id, target_id)
        assert (before.plain, before.kept_secrets) == ({"GREETING": "hello"},
                                                       frozenset({"TOKEN"}))

        # The second deployment: the same values, one changed; the secret is kept.
        again = await deployments.redeploy(NOBODY, first.id, variables={"GREETING": "again"})
        [second] = await again.wait()
        assert second.status is SUCCEEDED, second.error
        assert second.project_name == first.project_name and second.id != first.id
        assert second.variables["GREETING"] == "again"
        current = await deployments.current_deployments(NOBODY)
        assert [d.id for d in current] == [second.id]
        mine = await deployments.list_deployments(NOBODY, stack_id=stack.id,
                                                  status=[SUCCEEDED])
        assert {d.id for d in mine.items} == {first.id, second.id}
        assert (await deployments.list_deployments(
            NOBODY, target_id=target_id, status=[DeploymentStatus.FAILED])).items == ()
        with pytest.raises(ConflictError, match="not running"):
            await deployments.cancel(NOBODY, second.id)
        with pytest.raises(ConflictError, match="cannot rollback"):
            await deployments.rollback(NOBODY, second.id)  # it is what runs

        stopped = await deployments.stop(NOBODY, second.id)
        assert stopped.status is DeploymentStatus.STOPPED
        assert not _containers(docker_engine, second.project_name)
        assert _containers(docker_engine, second.project_name, running=False)
        started = await deployments.start(NOBODY, second.id)
        assert started.status is SUCCEEDED
        assert _containers(docker_engine, second.project_name)
        removed = await deployments.remove(NOBODY, second.id, volumes=True)
        assert removed.status is DeploymentStatus.REMOVED
        assert not _containers(docker_engine, second.project_name, running=False)
        await deployments.shutdown()  # nothing runs here: the server's go on
    finally:
        await session.close()


async def test_errors_are_the_domains_own(server: Server, tmp_path_factory:
                                          pytest.TempPathFactory) -> None:
    session = await signed_in(server, "olga")
    stacks, deployments = RemoteStacks(session), RemoteDeployments(session)
    viewer = await signed_in(server, "vera")
    vera = RemoteDeployments(viewer)
    try:
        nowhere = tmp_path_factory.mktemp("nowhere") / "no-engine.sock"
        made = await session.request("POST", "/targets", json={
            "name": "nowhere", "kind": "local", "docker_socket": f"unix://{nowhere}"})
        target_id = uuid.UUID(made["id"])
        stack, _ = await stacks.create_stack(NOBODY, name="Lost", compose_yaml=TINY,
                                             variables=VARIABLES)
        with pytest.raises(ValidationError) as missing:
            await deployments.deploy(NOBODY, stack.id, [target_id])
        assert missing.value.field == "GREETING"
        with pytest.raises(ValidationError) as too_many:  # the request's own rules
            await deployments.deploy(NOBODY, stack.id, [target_id], parallel=99,
                                     variables={"GREETING": "x"})
        assert too_many.value.field == "parallel"
        with pytest.raises(PermissionDeniedError):
            await vera.deploy(NOBODY, stack.id, [target_id], variables={"GREETING": "x"})

        # An engine that is not there: the deployment fails, and says so in its log.
        rollout = await deployments.deploy(NOBODY, stack.id, [target_id],
                                           variables={"GREETING": "x"})
        [failed] = await rollout.wait()
        assert failed.status is DeploymentStatus.FAILED and failed.error
        seen = [dataclasses.astuple(x) for x in await vera.logs(NOBODY, failed.id)]
        assert seen and seen == [dataclasses.astuple(x) async for x in
                                 vera.follow_logs(NOBODY, failed.id)]  # a viewer reads
        with pytest.raises(PermissionDeniedError):
            await vera.stop(NOBODY, failed.id)
        with pytest.raises(PermissionDeniedError):
            await vera.redeploy(NOBODY, failed.id)

        for missing_id in (vera.get(NOBODY, uuid.uuid4()),
                           vera.stages(NOBODY, uuid.uuid4()),
                           deployments.remove(NOBODY, uuid.uuid4()),
                           deployments.previous_values(NOBODY, stack.id, uuid.uuid4())):
            with pytest.raises(NotFoundError):
                await missing_id
        with pytest.raises(NotFoundError):
            [_ async for _ in deployments.follow_logs(NOBODY, uuid.uuid4())]
    finally:
        await viewer.close()
        await session.close()

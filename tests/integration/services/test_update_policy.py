"""Per-stack update policies over a real engine and a real registry (``UpdateSweepService``):

- ``ignore``: the stack's image is not reported; ``notify``: reported, nothing deployed;
- ``auto``: a newer image pushed under the same tag is deployed by the round itself on
  two targets, one after the other (the second only once the first's watch ended);
- ``auto`` with a broken new image (fails its health check): the first target is put
  back on the old digest, the rollout stops (the second target is not touched), the
  round says so in words, and the same digest is not tried again;
- the registry down, or its login refused: the error in words, nothing deployed.

Two targets are two "local" targets on the one test engine (their Compose projects are
named after the target, so they do not meet)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.registry import Registry, registry, start_registry  # noqa: F401 - fixture
from tests.support.deploy import DeployGraph, compose_v2_config, local_deploy_graph
from tests.support.registry_tokens import TokenService
from tests.support.target import engine_settings
from windflow_desktop.domain.containers import ImageUpdate, UpdateState
from windflow_desktop.domain.enums import DeploymentStatus, UpdatePolicy
from windflow_desktop.domain.models import Deployment, Stack, Target
from windflow_desktop.domain.updates import AutoOutcome, UpdateSweep
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.update_policy import UpdateSweepService
from windflow_desktop.services.updates import UpdateService, registry_secret_name

pytestmark = pytest.mark.docker

# A service that is healthy while /healthy exists in its image.
STACK = """\
services:
  app:
    image: {image}
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "cat", "/healthy"]
      interval: 1s
      timeout: 2s
      retries: 1
      start_period: 0s
"""
SETTINGS = {"watch_s": 1.5, "health_timeout_s": 30.0}


@dataclass
class World:
    g: DeployGraph
    engine: DockerEngine
    registry: Registry
    targets: list[Target]
    sweeps: UpdateSweepService

    def sh(self, *args: str) -> str:
        return self.engine.cli(*args).strip()

    def image_id(self, reference: str) -> str:
        return self.sh("image", "inspect", "-f", "{{.Id}}", reference)

    def running_image(self, project: str) -> str:
        [cid] = self.sh("ps", "-q", "--filter",
                        f"label=com.docker.compose.project={project}").split()
        return str(json.loads(self.sh("inspect", cid))[0]["Image"])

    async def pushed(self, name: str, *, healthy: bool = True, host: str = ""
                     ) -> tuple[str, str]:
        """A new image pushed as ``<registry>/<name>:1`` (healthy: with /healthy); the
        engine's tag is put back on the image it had (as if it never pulled since).
        Returns (reference, the new image's id)."""
        reference = f"{host or self.registry.host}/{name}:1"

        def build() -> str:
            before = ""
            with contextlib.suppress(Exception):
                before = self.image_id(reference)
            box = f"build-{uuid.uuid4().hex[:6]}"
            script = f"touch /healthy; echo {uuid.uuid4().hex} > /version" if healthy \
                else f"echo {uuid.uuid4().hex} > /version"
            self.sh("run", "--name", box, BUSYBOX_IMAGE, "sh", "-c", script)
            self.sh("commit", box, reference)
            self.sh("rm", box)
            self.sh("push", reference)
            new = self.image_id(reference)
            if before:
                self.sh("tag", before, reference)
            return new

        return reference, await asyncio.to_thread(build)

    async def stack(self, reference: str, policy: UpdatePolicy) -> Stack:
        stack, _ = await self.g.stacks.create_stack(
            self.g.admin, name=f"s{uuid.uuid4().hex[:6]}",
            compose_yaml=STACK.format(image=reference))
        return await self.g.stacks.update_stack(self.g.admin, stack.id, update_policy=policy)

    async def deploy(self, stack: Stack, targets: list[Target]) -> list[Deployment]:
        done = await (await self.g.deployments.deploy(
            self.g.admin, stack.id, [t.id for t in targets])).wait()
        done = [await self.g.settled(d) for d in done]
        assert all(d.status is DeploymentStatus.SUCCEEDED for d in done), \
            [d.error for d in done]
        return done

    async def behind(self, prefix: str) -> tuple[str, Stack, Deployment, str]:
        """An ``auto`` stack deployed on the first target, then a newer image pushed under
        its tag: (reference, stack, deployment, the newer image's id)."""
        reference, _ = await self.pushed(f"{prefix}-{uuid.uuid4().hex[:6]}")
        stack = await self.stack(reference, UpdatePolicy.AUTO)
        [dep] = await self.deploy(stack, self.targets[:1])
        _, new_id = await self.pushed(reference.rsplit("/", 1)[1].split(":")[0])
        return reference, stack, dep, new_id

    def server_sweeps(self) -> UpdateSweepService:
        """The sweeps as a server runs them (``scheduled``: updates go on after a round)."""
        return UpdateSweepService(self.sweeps.ctx, self.sweeps.updates, self.g.deployments,
                                  watching=self.g.core.watching, scheduled=True, poll_s=0.1)

    async def newest(self, stack: Stack, target: Target) -> Deployment:
        page = await self.g.deployments.list_deployments(self.g.admin, stack_id=stack.id,
                                                         target_id=target.id)
        return max(page.items, key=lambda d: d.created_at)


def lines_of(sweep: UpdateSweep, image: str, target: Target | None = None
             ) -> list[ImageUpdate]:
    """The lines about ``image`` (of ``target``; else of every target that names a
    deployment: both targets run on the one engine, each sees the other's containers)."""
    return [u for t, lines in sweep.results.items() for u in lines if u.image == image
            and (t == target.id if target is not None else bool(u.deployment_ids))]


@pytest.fixture
async def world(tmp_path: Path, docker_engine: DockerEngine,
                registry: Registry  # noqa: F811
                ) -> AsyncIterator[World]:
    async with local_deploy_graph(tmp_path, docker_engine, SETTINGS) as (g, first):
        second = await g.add_target("second", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host,
            "DOCKER_CONFIG": str(compose_v2_config(tmp_path))}))
        targets = []
        for target in (first, second):  # the update checks reach the engine through it
            async with g.backend.unit_of_work() as uow:
                stored = await uow.targets.get(target.id)
                stored.docker_socket = docker_engine.host
                targets.append(await uow.targets.save(stored))
                await uow.commit()
        pool = ExecutorPool(KnownHosts(tmp_path / "kh"), SecretStore(MemoryKeyring()).aget,
                            settings=engine_settings())
        ctx = ServiceContext(g.backend, g.bus)
        sweeps = UpdateSweepService(ctx, UpdateService(ctx, pool, g.secrets), g.deployments,
                                    watching=g.core.watching, poll_s=0.1)
        try:
            yield World(g, docker_engine, registry, targets, sweeps)
        finally:
            await pool.close()
            projects = docker_engine.cli("ps", "-aq", "--filter",
                                         "label=com.docker.compose.project").split()
            if projects:
                docker_engine.cli("rm", "-f", *projects)


async def test_ignore_is_not_reported_and_notify_is_reported_only(world: World) -> None:
    w = world
    here = w.targets[0]
    told, _ = await w.pushed(f"wf-notify-{uuid.uuid4().hex[:6]}")
    quiet, _ = await w.pushed(f"wf-ignore-{uuid.uuid4().hex[:6]}")
    notify = await w.stack(told, UpdatePolicy.NOTIFY)
    ignore = await w.stack(quiet, UpdatePolicy.IGNORE)
    assert (notify.update_policy, ignore.update_policy) == (UpdatePolicy.NOTIFY,
                                                            UpdatePolicy.IGNORE)
    [n_dep] = await w.deploy(notify, [here])
    [i_dep] = await w.deploy(ignore, [here])
    before = w.running_image(n_dep.project_name)
    await w.pushed(told.rsplit("/", 1)[1].split(":")[0])
    await w.pushed(quiet.rsplit("/", 1)[1].split(":")[0])

    sweep = await w.sweeps.sweep(w.g.admin)
    [line] = lines_of(sweep, told)
    assert line.state is UpdateState.AVAILABLE and line.deployment_ids == (n_dep.id,)
    assert lines_of(sweep, quiet) == []  # ignored: not reported at all
    assert sweep.automatic == ()
    assert w.running_image(n_dep.project_name) == before  # notify deploys nothing
    assert (await w.newest(notify, here)).id == n_dep.id
    assert (await w.newest(ignore, here)).id == i_dep.id
    assert (await w.sweeps.latest(w.g.admin)).results == sweep.results  # run again: same

    # Set back to notify, the ignored image is reported again.
    await w.g.stacks.update_stack(w.g.admin, ignore.id, update_policy="notify")
    [line] = lines_of(await w.sweeps.sweep(w.g.admin), quiet)
    assert line.state is UpdateState.AVAILABLE and line.deployment_ids == (i_dep.id,)


async def test_auto_deploys_the_new_image_one_target_after_the_other(world: World) -> None:
    w = world
    reference, old_id = await w.pushed(f"wf-auto-{uuid.uuid4().hex[:6]}")
    stack = await w.stack(reference, UpdatePolicy.AUTO)
    first, second = await w.deploy(stack, w.targets)
    assert {w.running_image(first.project_name), w.running_image(second.project_name)} == \
        {old_id}
    _, new_id = await w.pushed(reference.rsplit("/", 1)[1].split(":")[0])

    sweep = await w.sweeps.sweep(w.g.admin)  # no click: the round updates

    assert [(a.target_name, a.outcome) for a in sweep.automatic] == [
        ("here", AutoOutcome.UPDATED), ("second", AutoOutcome.UPDATED)], sweep.automatic
    assert w.running_image(first.project_name) == new_id
    assert w.running_image(second.project_name) == new_id
    a, b = [await w.newest(stack, t) for t in w.targets]
    assert a.pull_images and b.pull_images and a.status is b.status is \
        DeploymentStatus.SUCCEEDED
    assert a.actor_id == w.g.admin.user_id  # acting as who chose auto
    # Staged: the second target's update was created after the first one's had ended
    # (its watch included).
    assert a.finished_at is not None and b.created_at >= a.finished_at
    assert all(u.state is UpdateState.CURRENT for u in lines_of(sweep, reference))
    assert "updated automatically" in str(sweep.automatic[0])
    # The next round finds nothing to do.
    again = await w.sweeps.sweep(w.g.admin)
    assert again.automatic == ()
    assert all(u.state is UpdateState.CURRENT for u in lines_of(again, reference))


async def test_a_broken_new_image_goes_back_to_the_old_digest_and_stops(world: World) -> None:
    w = world
    reference, old_id = await w.pushed(f"wf-broken-{uuid.uuid4().hex[:6]}")
    stack = await w.stack(reference, UpdatePolicy.AUTO)
    first, second = await w.deploy(stack, w.targets)
    _, broken_id = await w.pushed(reference.rsplit("/", 1)[1].split(":")[0], healthy=False)
    assert broken_id != old_id

    sweep = await w.sweeps.sweep(w.g.admin)

    [failed, skipped] = sweep.automatic
    assert (failed.target_name, failed.outcome) == ("here", AutoOutcome.FAILED), failed
    assert "unhealthy" in failed.message and "the old image runs again" in failed.message
    assert (skipped.target_name, skipped.outcome) == ("second", AutoOutcome.NOT_STARTED)
    assert "the rollout stopped" in str(skipped)
    assert w.running_image(first.project_name) == old_id  # back on the old digest
    assert (await w.newest(stack, w.targets[0])).status is DeploymentStatus.SUCCEEDED
    # The second target was not touched: no new deployment, the same container image.
    assert (await w.newest(stack, w.targets[1])).id == second.id
    assert w.running_image(second.project_name) == old_id

    # Still reported (as for notify), and the same broken digest is not tried again.
    again = await w.sweeps.sweep(w.g.admin)
    assert again.automatic == ()
    assert {u.state for u in lines_of(again, reference)} == {UpdateState.AVAILABLE}
    assert w.running_image(first.project_name) == old_id


async def test_a_registry_that_is_down_is_said_and_nothing_changes(world: World) -> None:
    w = world
    own = start_registry()
    try:
        reference, _ = await w.pushed(f"wf-down-{uuid.uuid4().hex[:6]}", host=own.host)
        stack = await w.stack(reference, UpdatePolicy.AUTO)
        [dep] = await w.deploy(stack, w.targets[:1])
        own.stop()
        sweep = await w.sweeps.sweep(w.g.admin)
        [line] = lines_of(sweep, reference)
        assert line.state is UpdateState.FAILED and "cannot be reached" in line.message
        assert sweep.automatic == ()
        assert (await w.newest(stack, w.targets[0])).id == dep.id
    finally:
        own.remove()


async def test_auto_acts_as_who_chose_it_and_stops_when_they_may_not(world: World) -> None:
    """Who chose ``auto`` left the organization: nothing is deployed, the round says why."""
    w = world
    reference, old_id = await w.pushed(f"wf-who-{uuid.uuid4().hex[:6]}")
    stack = await w.stack(reference, UpdatePolicy.AUTO)
    [dep] = await w.deploy(stack, w.targets[:1])
    await w.pushed(reference.rsplit("/", 1)[1].split(":")[0])
    async with w.g.backend.unit_of_work() as uow:
        await uow.memberships.delete(w.g.admin.user_id, w.g.org_id)
        await uow.commit()
    sweep = await w.sweeps._round(w.g.org_id)  # the server's schedule: no caller
    [refused] = sweep.automatic
    assert refused.outcome is AutoOutcome.REFUSED and "no longer a member" in refused.message
    assert w.running_image(dep.project_name) == old_id
    [line] = lines_of(sweep, reference)
    assert line.state is UpdateState.AVAILABLE


async def test_wrong_registry_credentials_are_said_and_nothing_changes(
    world: World, tmp_path: Path
) -> None:
    """A registry that asks for a login (its token service refuses a wrong one): the line
    says the credentials were refused, the auto stack is not touched; with the right
    credentials in the secret store the same registry tells of the update."""
    w = world
    own = start_registry()
    tokens = TokenService(tmp_path, "ci", "right-password")
    try:
        reference, old_id = await w.pushed(f"wf-auth-{uuid.uuid4().hex[:6]}", host=own.host)
        stack = await w.stack(reference, UpdatePolicy.AUTO)
        [dep] = await w.deploy(stack, w.targets[:1])
        await w.pushed(reference.rsplit("/", 1)[1].split(":")[0], host=own.host)
        # From now on the registry answers only with a token from its token service.
        own.stop()
        tokens.start()
        own.auth = tokens.auth_config()
        own.start()
        await w.g.secrets.aset(registry_secret_name(own.host), "ci:wrong-password")

        sweep = await w.sweeps.sweep(w.g.admin)
        [line] = lines_of(sweep, reference)
        assert line.state is UpdateState.FAILED, line
        assert "refused a token" in line.message and "credentials" in line.message
        assert tokens.refused >= 1
        assert sweep.automatic == ()
        assert (await w.newest(stack, w.targets[0])).id == dep.id
        assert w.running_image(dep.project_name) == old_id

        await w.g.stacks.update_stack(w.g.admin, stack.id, update_policy="notify")
        await w.g.secrets.aset(registry_secret_name(own.host), "ci:right-password")
        [line] = lines_of(await w.sweeps.sweep(w.g.admin), reference)
        assert line.state is UpdateState.AVAILABLE, line
    finally:
        own.remove()
        tokens.stop()


async def test_on_a_server_a_round_asked_for_answers_before_its_updates_end(
    world: World
) -> None:
    """``scheduled`` (a server): the round a desktop asks for answers once the checks are
    done; the automatic update goes on after it, a round meanwhile does not start it a
    second time, and the next ``latest`` tells of it."""
    w = world
    reference, stack, dep, new_id = await w.behind("wf-srv")
    old_id = w.running_image(dep.project_name)
    server = w.server_sweeps()

    answer = await server.sweep(w.g.admin)
    assert answer.automatic == ()
    [line] = lines_of(answer, reference)
    assert line.state is UpdateState.AVAILABLE
    assert w.running_image(dep.project_name) == old_id  # not yet: it goes on after
    again = await server.sweep(w.g.admin)  # meanwhile: the same update is not started again
    assert again.automatic == ()
    await asyncio.wait_for(asyncio.gather(*list(server._tasks)), timeout=120)

    latest = await server.latest(w.g.admin)
    [auto] = latest.automatic
    assert auto.outcome is AutoOutcome.UPDATED, auto
    assert w.running_image(dep.project_name) == new_id
    assert {u.state for u in lines_of(latest, reference)} == {UpdateState.CURRENT}
    page = await w.g.deployments.list_deployments(w.g.admin, stack_id=stack.id)
    assert len(page.items) == 2  # the first deployment and one update, not two
    await server.shutdown()


async def test_on_a_server_a_round_that_checked_while_an_update_ended_tells_of_it(
    world: World
) -> None:
    """A round asked for starts an update that goes on after it; the next round (the
    schedule's) checks while it runs and ends after it was told: the update is told in
    that round too (the latest; before, that round replaced it unread), and the image it
    read before the update is not updated a second time."""
    w = world
    reference, stack, dep, new_id = await w.behind("wf-overlap")
    server = w.server_sweeps()
    answer = await server.sweep(w.g.admin)  # the update goes on after the answer
    [line] = lines_of(answer, reference)
    assert line.state is UpdateState.AVAILABLE
    updating = list(server._tasks)

    class CheckedWhileUpdating:
        """What the target ran while the update went on, answered once it was told."""

        pool = w.sweeps.updates.pool

        async def inspect(self, target: Target, projects: object) -> tuple[ImageUpdate, ...]:
            lines = await w.sweeps.updates.inspect(target, projects)  # type: ignore[arg-type]
            await asyncio.wait_for(asyncio.gather(*updating), timeout=120)
            return lines

    server.updates = CheckedWhileUpdating()  # type: ignore[assignment]
    second = await server.sweep(w.g.admin)
    [auto] = second.automatic
    assert auto.outcome is AutoOutcome.UPDATED, auto
    assert {u.state for u in lines_of(second, reference)} == {UpdateState.CURRENT}
    await asyncio.wait_for(asyncio.gather(*list(server._tasks)), timeout=120)
    assert (await server.latest(w.g.admin)).automatic == (auto,)
    assert w.running_image(dep.project_name) == new_id
    page = await w.g.deployments.list_deployments(w.g.admin, stack_id=stack.id)
    assert len(page.items) == 2  # the first deployment and one update, not two
    await server.shutdown()


async def test_update_images_by_hand_with_a_broken_image_rolls_back_to_the_old_one(
        world: World) -> None:
    """"Update images" pulls the new image under the same tag; when it fails its health
    check, the rollback must run the image that ran before — re-upping the old revision
    alone would run the broken image again, since the tag now names it."""
    w = world
    reference, old_id = await w.pushed(f"wf-byhand-{uuid.uuid4().hex[:6]}")
    stack = await w.stack(reference, UpdatePolicy.NOTIFY)
    [deployed] = await w.deploy(stack, w.targets[:1])
    _, broken_id = await w.pushed(reference.rsplit("/", 1)[1].split(":")[0], healthy=False)
    assert broken_id != old_id

    rollout = await w.g.deployments.redeploy(w.g.admin, deployed.id, pull_images=True)
    [update] = [await w.g.settled(d) for d in await rollout.wait()]

    assert update.status is DeploymentStatus.ROLLED_BACK, update.error
    assert w.running_image(deployed.project_name) == old_id
    assert w.image_id(reference) == old_id
    logs = await w.g.deployments.logs(w.g.admin, update.id)
    assert any("is the image that ran before again" in log.line for log in logs)

"""The health stage and the watch after it on a real engine: a service that dies soon after
``up`` has returned, and a restart loop, end the deployment failed (caught by health's
settle window or by the watch); a service that dies seconds after success is rolled back
to the previous revision by the watch; a newer deployment stops a watch; preflight takes
the Compose flavour from a fresh scan and probes the target when the scan is stale."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.support.deploy import compose_v2_config, local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import DeploymentStageRecord, TargetCapability, utcnow
from windflow_desktop.engine.executor import LocalExecutor

BASE = """\
services:
  first:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
  last:
    image: localhost/busybox
    depends_on: [first]
    stop_signal: SIGKILL
"""
LATE_EXIT = BASE + '    command: ["sh", "-c", "sleep 0.25; echo gave up >&2; exit 4"]\n'
LOOP = BASE + '    command: ["sh", "-c", "exit 1"]\n    restart: always\n'
GOOD = BASE + '    command: ["sleep", "1000000"]\n'
LATER_EXIT = BASE + '    command: ["sh", "-c", "sleep 1.5; echo out of memory >&2; exit 7"]\n'
WATCH = {"watch_s": 4.0, "watch_poll_s": 0.3}


async def test_late_exit_and_restart_loop_fail_health(docker_engine: DockerEngine,  # noqa: F811
                                                      tmp_path: Path) -> None:
    async with local_deploy_graph(tmp_path, docker_engine, WATCH) as (g, target):
        for name, text, error in (("late", LATE_EXIT, "service last exited with code 4"),
                                  ("loop", LOOP, "service last is in a restart loop")):
            stack, _ = await g.stacks.create_stack(g.admin, name=name, compose_yaml=text)
            [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
            await g.core.watching(dep.id)  # health or the watch catches it
            dep = await g.deployments.get(g.admin, dep.id)
            assert dep.status is DeploymentStatus.FAILED, (name, dep.error)
            assert error in (dep.error or ""), (name, dep.error)
            stages = [(s.stage, s.outcome)
                      for s in await g.deployments.stages(g.admin, dep.id)]
            assert ("health", "failed") in stages or ("watch", "failed") in stages, stages
            assert stages[-1] == ("rollback", "succeeded")
            assert docker_engine.cli("ps", "-aq", "--filter",
                                     f"label=com.docker.compose.project={dep.project_name}"
                                     ) == ""


async def test_watch_rolls_back_a_service_that_dies_after_success(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with local_deploy_graph(tmp_path, docker_engine, WATCH) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="app", compose_yaml=GOOD)

        async def deploy() -> uuid.UUID:
            [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
            assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
            return dep.id

        async def stages(dep_id: uuid.UUID) -> list[tuple[str, str]]:
            return [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, dep_id)]

        good = await deploy()
        await g.core.watching(good)
        assert (await stages(good))[-1] == ("watch", "succeeded")

        # revision 2 starts fine and dies 1.5 s later: succeeded, then rolled back
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=LATER_EXIT,
                                     message="worker that runs out of memory")
        bad = await deploy()
        assert ("done", "succeeded") in await stages(bad)
        await g.core.watching(bad)
        dep = await g.deployments.get(g.admin, bad)
        assert dep.status is DeploymentStatus.ROLLED_BACK, dep.error
        assert "service last exited with code 7 after the deployment succeeded" in dep.error
        assert "rolled back to revision 1" in (dep.error or "")
        assert (await stages(bad))[-2:] == [("watch", "failed"), ("rollback", "succeeded")]
        log_text = "\n".join(x.line for x in await g.deployments.logs(g.admin, bad))
        assert "last | out of memory" in log_text  # the dying service's last words
        running = docker_engine.cli("ps", "--filter", "status=running", "--format",
                                    "{{.Names}}", "--filter",
                                    f"label=com.docker.compose.project={dep.project_name}")
        assert len(running.split()) == 2  # revision 1 runs again
        assert (await g.deployments.get(g.admin, good)).status is DeploymentStatus.SUCCEEDED
        finished = [e for e in g.bus.events if e.event_type == "deployment.finished"
                    and e.aggregate_id == str(bad)]
        assert [e.data["status"] for e in finished] == ["succeeded", "rolled_back"]

        # a dying revision's watch is stopped by a newer deployment of a fixed one: the
        # newer one is not rolled back when the old one's service dies
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=LATER_EXIT,
                                     message="dies again")
        dying = await deploy()
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=GOOD, message="fixed")
        fixed = await deploy()
        assert ("watch", "stopped") in await stages(dying)
        assert (await g.deployments.get(g.admin, dying)).status is DeploymentStatus.SUCCEEDED
        await g.core.watching(fixed)
        assert (await stages(fixed))[-1] == ("watch", "succeeded")
        assert (await g.deployments.get(g.admin, fixed)).status is DeploymentStatus.SUCCEEDED
        running = docker_engine.cli("ps", "--filter", "status=running", "-q", "--filter",
                                    f"label=com.docker.compose.project={dep.project_name}")
        assert len(running.split()) == 2

        # the app stopped while a watch rolled back: reconciled as failed, whatever runs
        async with g.backend.unit_of_work() as uow:
            row = await uow.deployments.get(fixed)
            row.status = DeploymentStatus.RUNNING
            await uow.deployments.save(row)
            await uow.deployments.save_stage(DeploymentStageRecord(
                fixed, 99, "watch", utcnow(), utcnow(), "failed",
                "service last exited with code 7"))
            await uow.commit()
        settled = await g.core.reconcile(fixed)
        assert settled.status is DeploymentStatus.FAILED
        assert "service last exited with code 7 after the deployment succeeded; the app " \
               "stopped while rolling back" in (settled.error or "")


async def test_staged_rollout_judges_a_wave_after_its_watch(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with local_deploy_graph(tmp_path, docker_engine, WATCH) as (g, first):
        second = await g.add_target("second", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host,
            "DOCKER_CONFIG": str(compose_v2_config(tmp_path))}))
        stack, _ = await g.stacks.create_stack(g.admin, name="wave", compose_yaml=LATER_EXIT)
        rollout = await g.deployments.deploy(g.admin, stack.id, [first.id, second.id],
                                             parallel=1, stop_on_failure=True)
        one, two = await rollout.wait()
        assert one.status is DeploymentStatus.FAILED, one.error
        assert "exited with code 7 after the deployment succeeded" in (one.error or "")
        assert two.status is DeploymentStatus.CANCELLED
        assert "not started" in (two.error or "") and "ended failed" in (two.error or "")
        assert docker_engine.cli("ps", "-aq", "--filter",
                                 f"label=com.docker.compose.project={two.project_name}") == ""


async def test_preflight_uses_a_fresh_scan(docker_engine: DockerEngine,  # noqa: F811
                                           tmp_path: Path) -> None:
    async with local_deploy_graph(tmp_path, docker_engine, {"settle_s": 0.5}) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="good", compose_yaml=GOOD)

        async def scanned(age: timedelta) -> None:
            at = utcnow() - age
            async with g.backend.unit_of_work() as uow:
                await uow.targets.set_capabilities(target.id, [
                    TargetCapability(target.id, "compose_v2", True, "2.99.0", scanned_at=at),
                    TargetCapability(target.id, "compose_v1", False, scanned_at=at)])
                await uow.commit()

        async def deploy_log() -> str:
            [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
            assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
            return "\n".join(x.line for x in await g.deployments.logs(g.admin, dep.id))

        await scanned(timedelta(seconds=5))
        text = await deploy_log()
        assert "Compose v2 2.99.0 (scan)" in text
        assert "each is watched until it has run 0.5 s" in text  # fresh containers
        await scanned(timedelta(days=2))  # stale: the target is asked again
        text = await deploy_log()
        assert "Compose v2 " in text and "2.99.0" not in text

        # a fresh scan that is wrong (Compose gone since): validate fails, nothing changes
        empty_bin = tmp_path / "nobin"
        empty_bin.mkdir()
        for tool in ("sh", "cat", "df", "grep", "tail", "printf", "mkdir", "rm", "chmod",
                     "date", "test", "find", "id", "env"):
            (empty_bin / tool).symlink_to("/bin/busybox")
        target = await g.add_target("bare", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host, "PATH": str(empty_bin)}))
        await scanned(timedelta(minutes=5))  # (for the new target)
        [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
        assert dep.status is DeploymentStatus.FAILED
        assert "scan it again" in (dep.error or "")  # whichever docker read failed first
        stages = [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, dep.id)]
        assert stages[-1] == ("validate", "failed")
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml").exists()
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml.next").exists()

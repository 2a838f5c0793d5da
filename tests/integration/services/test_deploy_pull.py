"""The pull stage against a real registry (the CNCF distribution registry on loopback,
plain HTTP, which the test engine trusts on 127.0.0.0/8): an image the engine does not
have is pulled, with its progress in the log; a redeploy finds it present and pulls
nothing; an image the registry does not have, or a registry that went away, fails the
deployment in ``pull`` before anything changes on the target.

The images pushed carry a layer of their own (a ``/marker`` file committed on top of
``localhost/busybox``) and are removed from the engine after the push, so the deployment
can only run them if the pull really fetched that layer from the registry."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.env.registry import Registry, start_registry
from tests.support.deploy import DeployGraph, local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import Deployment

NO_WATCH = {"watch_s": 0}


def one_service(image: str) -> str:
    return (f"services:\n"
            f"  app:\n"
            f"    image: {image}\n"
            f'    command: ["sleep", "1000000"]\n'
            f"    stop_signal: SIGKILL\n")


def push_only_to_registry(engine: DockerEngine, image: str, marker: str) -> None:
    """Put ``image`` (busybox plus a ``/marker`` layer saying ``marker``) in the registry
    and leave the engine without it: tag, push, then remove the tag (and its layer)."""
    name = f"wf-marker-{uuid.uuid4().hex[:8]}"
    engine.cli("run", "--name", name, "--network", "none", BUSYBOX_IMAGE,
               "sh", "-c", f"echo {marker} > /marker")
    try:
        engine.cli("commit", name, image)
    finally:
        engine.cli("rm", "-f", name)
    engine.cli("push", image, timeout=120)
    engine.cli("rmi", image)
    assert not has_image(engine, image)


def has_image(engine: DockerEngine, image: str) -> bool:
    return engine.cli("image", "inspect", image, check=False).strip() not in ("", "[]")


def container_ids(engine: DockerEngine, project: str) -> list[str]:
    return engine.cli("ps", "-aq", "--no-trunc", "--filter",
                      f"label=com.docker.compose.project={project}").split()


def container_state(engine: DockerEngine, container: str) -> str:
    return engine.cli("inspect", "-f", "{{.State.Status}} {{.State.StartedAt}} {{.Image}}",
                      container).strip()


async def stages(g: DeployGraph, dep: Deployment) -> list[tuple[str, str]]:
    return [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, dep.id)]


async def log_lines(g: DeployGraph, dep: Deployment) -> list[str]:
    return [x.line for x in await g.deployments.logs(g.admin, dep.id, limit=10_000)]


async def assert_pull_failed_and_nothing_changed(
        g: DeployGraph, engine: DockerEngine, tmp_path: Path, failed: Deployment,
        image: str, running: Deployment, before: list[str], states: list[str],
        good_image: str) -> None:
    assert failed.status is DeploymentStatus.FAILED, failed.error
    assert failed.project_name == running.project_name
    assert f"pulling {image} failed" in (failed.error or ""), failed.error
    assert await stages(g, failed) == [
        ("preflight", "succeeded"), ("validate", "succeeded"), ("pull", "failed")]
    lines = await log_lines(g, failed)
    assert "images 0/1" in lines, lines
    assert not [x for x in lines if ": pulled " in x], lines
    # the target is as it was: the same container, not restarted, the old files in place
    assert container_ids(engine, running.project_name) == before
    assert [container_state(engine, c) for c in before] == states
    assert all(s.startswith("running ") for s in states)
    folder = tmp_path / "projects" / running.project_name
    assert f"image: {good_image}" in (folder / "compose.yaml").read_text()
    assert not (folder / "compose.yaml.next").exists()
    assert not (folder / ".env.next").exists()
    assert not has_image(engine, image)
    assert (await g.deployments.get(g.admin, running.id)).status is DeploymentStatus.SUCCEEDED


async def test_pull_fetches_a_missing_image_and_a_redeploy_finds_it_present(
        docker_engine: DockerEngine, registry: Registry,  # noqa: F811
        tmp_path: Path) -> None:
    image = f"{registry.host}/team/busybox:1"
    push_only_to_registry(docker_engine, image, "from-the-registry")
    async with local_deploy_graph(tmp_path, docker_engine, NO_WATCH) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="pulled",
                                               compose_yaml=one_service(image))
        [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
        current = dep
        try:
            assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
            assert await stages(g, dep) == [
                ("preflight", "succeeded"), ("validate", "succeeded"), ("pull", "succeeded"),
                ("up", "succeeded"), ("health", "succeeded"), ("done", "succeeded")]
            lines = await log_lines(g, dep)
            assert "images 0/1" in lines, lines
            assert f"images 1/1: pulled {image}" in lines, lines
            assert lines.index("images 0/1") < lines.index(f"images 1/1: pulled {image}")
            assert f"{image}: present, not pulled" not in lines
            # docker pull's own output is in the log, between the two progress lines
            between = lines[lines.index("images 0/1"):lines.index(f"images 1/1: pulled {image}")]
            assert any("Pulling from team/busybox" in x for x in between), lines
            assert has_image(docker_engine, image)
            [container] = container_ids(docker_engine, dep.project_name)
            # the container runs the pulled image, layer from the registry included
            assert docker_engine.cli("exec", container, "cat", "/marker").strip() == \
                "from-the-registry"

            # a redeploy: the image is there now, nothing is pulled
            [again] = await (await g.deployments.redeploy(g.admin, dep.id)).wait()
            current = again  # the flow table: remove acts on what runs now
            assert again.status is DeploymentStatus.SUCCEEDED, again.error
            assert ("pull", "succeeded") in await stages(g, again)
            lines = await log_lines(g, again)
            assert f"{image}: present, not pulled" in lines, lines
            assert "images 1/1" in lines, lines
            assert not [x for x in lines if ": pulled " in x or "Pulling from" in x], lines
        finally:
            await g.deployments.remove(g.admin, current.id, volumes=True)
        assert container_ids(docker_engine, dep.project_name) == []


async def test_an_image_missing_from_the_registry_fails_pull_and_changes_nothing(
        docker_engine: DockerEngine, registry: Registry,  # noqa: F811
        tmp_path: Path) -> None:
    good = f"{registry.host}/team/busybox:good"
    push_only_to_registry(docker_engine, good, "good")
    missing = f"{registry.host}/team/missing:1"
    async with local_deploy_graph(tmp_path, docker_engine, NO_WATCH) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="missing",
                                               compose_yaml=one_service(good))
        [first] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
        try:
            assert first.status is DeploymentStatus.SUCCEEDED, first.error
            before = container_ids(docker_engine, first.project_name)
            assert len(before) == 1
            states = [container_state(docker_engine, c) for c in before]

            await g.stacks.save_revision(g.admin, stack.id, compose_yaml=one_service(missing),
                                         message="an image nobody pushed")
            [failed] = await (await g.deployments.redeploy(g.admin, first.id,
                                                           revision=0)).wait()
            await assert_pull_failed_and_nothing_changed(
                g, docker_engine, tmp_path, failed, missing, first, before, states, good)
            assert "not found" in (failed.error or "") or \
                "manifest unknown" in (failed.error or ""), failed.error
            assert f"{missing} was not found in its registry: check the image name and tag" \
                in (failed.error or ""), failed.error
        finally:
            await g.deployments.remove(g.admin, first.id, volumes=True)


async def test_a_registry_that_went_away_fails_pull_and_changes_nothing(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    own = start_registry()  # not the session's: this one is stopped on purpose
    try:
        first_image = f"{own.host}/team/busybox:1"
        second_image = f"{own.host}/team/busybox:2"
        push_only_to_registry(docker_engine, first_image, "one")
        push_only_to_registry(docker_engine, second_image, "two")
        async with local_deploy_graph(tmp_path, docker_engine, NO_WATCH) as (g, target):
            stack, _ = await g.stacks.create_stack(g.admin, name="gone",
                                                   compose_yaml=one_service(first_image))
            [first] = await (await g.deployments.deploy(g.admin, stack.id,
                                                        [target.id])).wait()
            try:
                assert first.status is DeploymentStatus.SUCCEEDED, first.error
                before = container_ids(docker_engine, first.project_name)
                states = [container_state(docker_engine, c) for c in before]

                own.stop()
                await g.stacks.save_revision(g.admin, stack.id,
                                             compose_yaml=one_service(second_image),
                                             message="tag 2, registry gone")
                [failed] = await (await g.deployments.redeploy(g.admin, first.id,
                                                               revision=0)).wait()
                await assert_pull_failed_and_nothing_changed(
                    g, docker_engine, tmp_path, failed, second_image, first, before, states,
                    first_image)
                assert "connection refused" in (failed.error or ""), failed.error
                assert f"the registry of {second_image} cannot be reached from " \
                       in (failed.error or ""), failed.error
            finally:
                await g.deployments.remove(g.admin, first.id, volumes=True)
    finally:
        own.remove()


async def test_an_image_present_under_another_spelling_is_not_pulled_again(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    own = start_registry()
    try:
        image = f"{own.host}/team/busybox:3"
        push_only_to_registry(docker_engine, image, "three")
        docker_engine.cli("pull", image, timeout=120)
        digest = docker_engine.cli("inspect", "-f", "{{index .RepoDigests 0}}", image).strip()
        docker_engine.cli("tag", BUSYBOX_IMAGE, "docker.io/library/wf-spelled:1")
        own.stop()  # nothing can be pulled from here on
        async with local_deploy_graph(tmp_path, docker_engine, NO_WATCH) as (g, target):
            for name, ref in (("digest", digest), ("docker-io", "docker.io/library/wf-spelled:1"),
                              ("short", "wf-spelled:1")):
                stack, _ = await g.stacks.create_stack(g.admin, name=name,
                                                       compose_yaml=one_service(ref))
                [dep] = await (await g.deployments.deploy(g.admin, stack.id,
                                                          [target.id])).wait()
                assert dep.status is DeploymentStatus.SUCCEEDED, (ref, dep.error)
                assert f"{ref}: present, not pulled" in await log_lines(g, dep)
                await g.deployments.remove(g.admin, dep.id, volumes=True)
    finally:
        own.remove()

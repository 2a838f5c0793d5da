"""ContainerService on the real engine through each target kind: containers listed with
their compose project, started, stopped, restarted, removed, logs tailed and followed
live; images, volumes, networks, stats; reading vs managing permissions."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.env.docker import BUSYBOX_IMAGE
from tests.support.target import TargetWorld
from windflow_desktop.domain.errors import PermissionDeniedError


async def _run(w: TargetWorld, project: str, script: str) -> str:
    name = f"wf-{uuid.uuid4().hex[:8]}"
    out = await asyncio.to_thread(
        w.docker.cli, "run", "-d", "--name", name, "--network", "none",
        "--label", f"com.docker.compose.project={project}",
        "--label", "com.docker.compose.service=web", "--stop-signal", "SIGKILL",
        BUSYBOX_IMAGE, "sh", "-c", script,
    )
    return out.strip()


@pytest.mark.parametrize("kind", ["local", "ssh", "tls"])
async def test_containers_list_act_and_follow_logs(target_world: TargetWorld, kind: str) -> None:
    w = target_world
    spec = {"local": w.local_spec, "ssh": w.ssh_spec, "tls": w.tls_spec}[kind]()
    target = await w.targets.create_target(w.owner, spec)
    project = f"proj{uuid.uuid4().hex[:6]}"
    cid = await _run(w, project, "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done")
    try:
        listed = await w.containers.list_containers(w.owner, target.id)
        mine = next(c for c in listed if c.id == cid)
        assert (mine.project, mine.service, mine.state) == (project, "web", "running")

        lines: list[str] = []

        async def follow() -> None:
            async for line in w.containers.follow_logs(w.owner, target.id, cid, tail=0):
                lines.append(line)

        task = asyncio.create_task(follow())
        for _ in range(100):
            if len(lines) >= 3:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(lines) >= 3 and all(line.startswith("tick ") for line in lines)
        numbers = [int(line.split()[1]) for line in lines]
        assert numbers == sorted(numbers)  # live, in order

        await w.containers.stop(w.owner, target.id, cid, grace_s=0)
        state = (await w.containers.inspect(w.owner, target.id, cid))["State"]
        assert state["Running"] is False
        await w.containers.start(w.owner, target.id, cid)
        await w.containers.restart(w.owner, target.id, cid, grace_s=0)
        assert (await w.containers.inspect(w.owner, target.id, cid))["State"]["Running"]
        tail = await w.containers.logs(w.owner, target.id, cid, tail=5)
        assert 1 <= len(tail) <= 5 and tail[-1].startswith("tick ")
        stats = await w.containers.stats(w.owner, target.id, cid)
        assert stats.memory_bytes >= 0
        images = await w.containers.images(w.owner, target.id)
        assert any(BUSYBOX_IMAGE in i.tags for i in images)
        assert isinstance(await w.containers.networks(w.owner, target.id), list)
        assert isinstance(await w.containers.volumes(w.owner, target.id), list)

        with pytest.raises(PermissionDeniedError):
            await w.containers.stop(w.viewer, target.id, cid)
        assert await w.containers.list_containers(w.viewer, target.id)

        await w.containers.remove(w.owner, target.id, cid, force=True)
        assert cid not in {c.id for c in await w.containers.list_containers(w.owner, target.id)}
        types = w.bus.types()
        for event in ("container.stopped", "container.started", "container.restarted",
                      "container.removed"):
            assert event in types
    finally:
        await asyncio.to_thread(w.docker.cli, "rm", "-f", cid, check=False)

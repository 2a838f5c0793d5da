"""``update_check_ms``: one ``UpdateService.check`` of a target whose containers run 50
images of the local test registry (50 repositories, each pushed from the engine so the
images carry their registry digests): the engine's containers and images read, then a
``HEAD`` of each tag's manifest (at once, a bound on how many at a time; one token per
repository at most — this registry asks none). The median of five checks after one
warm-up; each check opens its own registry client, as a round does. Goal ≤ 2,000 ms.

The engine and the registry are started here (``start_docker``, ``start_registry``) and
stopped after."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, start_docker
from tests.env.keyring_backend import MemoryKeyring
from tests.env.registry import start_registry
from tests.support.auth import RecordingBus, add_member, add_org
from tests.support.target import engine_settings
from windflow_desktop.domain.containers import UpdateState
from windflow_desktop.domain.enums import Role, TargetKind
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.targets import TargetService
from windflow_desktop.services.updates import UpdateService

from . import benchmark

IMAGES = 50
RUNS = 5
PARALLEL = 8  # docker push / run at a time while setting up


def _setup(engine: DockerEngine, registry_host: str) -> list[str]:
    """50 repositories on the registry, each running in a container on the engine."""
    refs = [f"{registry_host}/bench-upd-{i:02d}:1" for i in range(IMAGES)]
    for ref in refs:
        engine.cli("tag", BUSYBOX_IMAGE, ref)

    def push_and_run(ref: str) -> None:
        engine.cli("push", ref)
        engine.cli("run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
                   "--name", f"bench-upd-{uuid.uuid4().hex[:8]}", ref, "sleep", "100000")

    with ThreadPoolExecutor(PARALLEL) as workers:
        list(workers.map(push_and_run, refs))
    return refs


@benchmark("update_check")
async def bench_update_check() -> dict[str, Any]:
    engine = start_docker()
    registry = start_registry()
    try:
        setup_started = time.perf_counter()
        refs = _setup(engine, registry.host)
        setup_s = time.perf_counter() - setup_started
        with tempfile.TemporaryDirectory() as tmp:
            backend = SqlBackend(f"sqlite+aiosqlite:///{Path(tmp) / 'w.db'}")
            await backend.open()
            secrets = SecretStore(MemoryKeyring())
            pool = ExecutorPool(KnownHosts(Path(tmp) / "known_hosts"), secrets.aget,
                                settings=engine_settings())
            try:
                ctx = ServiceContext(backend, RecordingBus())
                org = await add_org(backend, f"bench{uuid.uuid4().hex[:6]}")
                owner = await add_member(backend, org.id, "bench", Role.OWNER)
                target = await TargetService(ctx, secrets, pool).create_target(
                    owner, TargetSpec(name="bench", kind=TargetKind.LOCAL,
                                      docker_socket=engine.host))
                service = UpdateService(ctx, pool, secrets)
                lines = await service.check(owner, target.id)  # warm-up
                times = []
                for _ in range(RUNS):
                    started = time.perf_counter()
                    lines = await service.check(owner, target.id)
                    times.append((time.perf_counter() - started) * 1000)
                checked = [u for u in lines if u.image in set(refs)]
                current = sum(u.state is UpdateState.CURRENT for u in checked)
                assert len(checked) == IMAGES and current == IMAGES, \
                    [(u.image, u.state, u.message) for u in checked if u.state
                     is not UpdateState.CURRENT][:3]
            finally:
                await pool.close()
                await backend.close()
    finally:
        registry.remove()
        engine.stop()
    return {"update_check_ms": round(statistics.median(times), 1),
            "update_check_best_ms": round(min(times), 1),
            "update_check_images": IMAGES,
            "update_check_setup_s": round(setup_s, 1)}

"""Capability scan over SSH against the real test sshd + dockerd (TESTENV.md):

- ``scan_one_ms``: ``TargetService.scan`` of one SSH target on a cold connection
  (handshake, the scan script, storing the capabilities), median of 5;
- ``scan_fleet_50_ms``: ``TargetService.scan_many`` of 50 SSH targets (all pointing at
  the test sshd, cold connections), median of 3;
- ``scan_fleet_floor_ms``: a bare asyncssh script that opens the same 50 connections at
  once and runs the same scan script in one session each, median of 3 (measured in the
  same run, interleaved with the fleet);
- ``scan_fleet_ratio`` = fleet / floor (goal <= 1.5).

Needs root (dockerd, the test users); the test user has a plain Debian shell start-up.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import asyncssh

from tests.env.docker import start_docker
from tests.env.keyring_backend import MemoryKeyring
from tests.env.sshd import SshServer, start_sshd
from windflow_desktop.domain.enums import Role, TargetAuth, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Membership, Organization, User
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.pool import EngineSettings, ExecutorPool
from windflow_desktop.engine.scanner import SCAN_SCRIPT
from windflow_desktop.engine.ssh import KnownHosts, SshSettings, kex_preference
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.targets import TargetService

from . import benchmark

FLEET = 50


class _NullBus:
    async def publish(self, event: object) -> None:
        return None


async def _floor(sshd: SshServer) -> float:
    key = asyncssh.read_private_key(str(sshd.client_key))
    host_key = asyncssh.import_public_key(sshd.host_public_key)

    async def one() -> None:
        async with asyncssh.connect(
            sshd.host, sshd.port, username=sshd.user, client_keys=[key],
            known_hosts=([host_key], [], []), config=[], agent_path=None,
            kex_algs=kex_preference(),
        ) as conn:
            result = await conn.run(SCAN_SCRIPT, check=False)
            assert "@@docker" in str(result.stdout)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(FLEET)))
    return (time.perf_counter() - started) * 1000


async def _service(backend: SqlBackend, folder: Path, sshd: SshServer
                   ) -> tuple[TargetService, ExecutorPool, Principal]:
    secrets = SecretStore(MemoryKeyring())
    known = KnownHosts(folder / "known_hosts")
    if not (folder / "known_hosts").exists():
        await known.add(sshd.host, sshd.port, asyncssh.import_public_key(sshd.host_public_key))
    pool = ExecutorPool(known, secrets.aget, settings=EngineSettings(
        ssh=SshSettings(connect_timeout_s=30, config_paths=[])))
    service = TargetService(ServiceContext(backend, _NullBus()), secrets, pool,
                            concurrency=FLEET)
    async with backend.unit_of_work() as uow:
        org = await uow.organizations.get_by_slug("bench")
        if org is None:
            org = await uow.organizations.add(Organization(name="Bench", slug="bench"))
            user = await uow.users.add(User(username="bench", email="bench@x.test"))
            await uow.memberships.save(Membership(user.id, org.id, Role.OWNER))
            await uow.commit()
        else:
            user = await uow.users.get_by_login("bench")  # type: ignore[assignment]
    return service, pool, Principal(user.id, org.id, Role.OWNER)


def _spec(sshd: SshServer, name: str) -> TargetSpec:
    return TargetSpec(name=name, kind=TargetKind.SSH, host=sshd.host, port=sshd.port,
                      username=sshd.user, auth=TargetAuth.KEY, key_file=str(sshd.client_key))


@benchmark("targets_scan")
async def bench_scan() -> dict[str, float]:
    engine = await asyncio.to_thread(start_docker)
    sshd = await asyncio.to_thread(start_sshd, engine)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            backend = SqlBackend(f"sqlite+aiosqlite:///{folder / 'workspace.db'}")
            await backend.open()
            try:
                return await _measure(backend, folder, sshd)
            finally:
                await backend.close()
    finally:
        await asyncio.to_thread(sshd.stop)
        await asyncio.to_thread(engine.stop)


async def _measure(backend: SqlBackend, folder: Path, sshd: SshServer) -> dict[str, float]:
    service, pool, owner = await _service(backend, folder, sshd)
    one = await service.create_target(owner, _spec(sshd, "one"))
    fleet_ids = [(await service.create_target(owner, _spec(sshd, f"fleet {i:02d}"))).id
                 for i in range(FLEET)]
    await pool.close()

    one_times = []
    await _floor(sshd)  # warm-up: page cache, sshd, the remote CLIs
    for _ in range(5):
        service, pool, owner = await _service(backend, folder, sshd)
        started = time.perf_counter()
        await service.scan(owner, one.id)
        one_times.append((time.perf_counter() - started) * 1000)
        await pool.close()

    fleet_times, floor_times = [], []
    for _ in range(3):
        floor_times.append(await _floor(sshd))
        service, pool, owner = await _service(backend, folder, sshd)
        started = time.perf_counter()
        results = await service.scan_many(owner, fleet_ids)
        fleet_times.append((time.perf_counter() - started) * 1000)
        await pool.close()
        failed = [r for r in results.values() if isinstance(r, Exception)]
        if failed:
            raise RuntimeError(f"{len(failed)} of {FLEET} scans failed: {failed[0]}")
    fleet, floor = statistics.median(fleet_times), statistics.median(floor_times)
    return {
        "scan_one_ms": round(statistics.median(one_times), 1),
        "scan_fleet_50_ms": round(fleet, 1),
        "scan_fleet_floor_ms": round(floor, 1),
        "scan_fleet_ratio": round(fleet / floor, 2),
    }

"""TargetService against the real engine and sshd: a target of each kind is added,
tested and scanned (the scan reports the engine's real version and Compose); the fault
tests end in a clear error and the right status; secrets live only in the keyring;
permissions and organizations are enforced; health publishes only real changes."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.auth import add_member, add_org
from tests.support.target import TargetWorld, build_world
from windflow_desktop.domain.enums import TargetAuth, TargetKind, TargetStatus
from windflow_desktop.domain.errors import (
    NotFoundError,
    PermissionDeniedError,
    TargetUnreachableError,
    ValidationError,
)
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.errors import (
    DockerUnavailableError,
    HostKeyChangedError,
    TargetAuthError,
    TlsError,
)
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.health_loop import HealthMonitor
from windflow_desktop.services.targets import secret_name


def caps(outcome_caps: object) -> dict[str, object]:
    return {c.kind: c for c in outcome_caps}  # type: ignore[attr-defined]


async def test_each_kind_is_added_tested_and_scanned(target_world: TargetWorld) -> None:
    w = target_world
    real_version = await asyncio.to_thread(w.docker.server_version)
    specs = [w.local_spec(), w.ssh_spec(), w.tls_spec()]
    for spec in specs:
        target = await w.targets.create_target(w.owner, spec)
        steps: list[str] = []
        report = await w.targets.test_connection(w.owner, target.id,
                                                 on_step=lambda s, seen=steps: seen.append(s.key))
        assert report.ok, report.steps
        assert report.engine_version == real_version
        assert all(s.state == "ok" for s in report.steps)
        assert steps == [s.key for s in report.steps]
        outcome = await w.targets.scan(w.owner, target.id)
        found = caps(outcome.capabilities)
        assert found["docker"].available and found["docker"].version == real_version
        assert found["docker"].details["api_version"] == "1.41"
        assert found["compose_v1"].available and found["compose_v1"].version == "1.29.2"
        assert found["cpus"].version == str(os.cpu_count())
        assert found["arch"].version in ("x86_64", "aarch64")
        assert found["memory"].details["total_bytes"] > 0
        assert outcome.target.status is TargetStatus.ONLINE
        assert outcome.target.last_seen is not None
        stored = await w.targets.capabilities(w.owner, target.id)
        assert {c.kind for c in stored} >= {"os", "docker", "compose_v1", "compose_v2", "disk"}
    ssh_target = next(t for t in (await w.targets.list_targets(w.owner)).items
                      if t.kind is TargetKind.SSH)
    ssh_caps = {c.kind: c for c in await w.targets.capabilities(w.owner, ssh_target.id)}
    assert ssh_caps["compose_v2"].available and ssh_caps["compose_v2"].version.startswith("2.")
    assert ssh_caps["disk"].available and ssh_caps["disk"].details["free_bytes"] > 0
    assert len(w.answers.prompts) == 1  # the sshd's host key was confirmed once
    assert w.bus.types().count("target.created") == 3
    assert w.bus.types().count("target.scanned") == 3
    # unknown -> online once per target, not again for the scan
    assert w.bus.types().count("target.status_changed") == 3


async def test_unreachable_host_ends_within_the_timeout(target_world: TargetWorld) -> None:
    w = target_world
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        target = await w.targets.create_target(
            w.owner, w.ssh_spec("silent", port=silent.getsockname()[1]))
        started = time.monotonic()
        report = await w.targets.test_connection(w.owner, target.id)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert elapsed < 2.0 + 8  # the configured timeout is 2 s (not TCP's minutes)
    assert [s.state for s in report.steps] == ["ok", "ok", "failed", "skipped"]
    assert "did not answer within 2 s" in report.error
    assert (await w.targets.get_target(w.owner, target.id)).status is TargetStatus.OFFLINE
    with pytest.raises(TargetUnreachableError):
        await w.targets.scan(w.owner, target.id)


async def test_wrong_key_and_wrong_password(target_world: TargetWorld) -> None:
    w = target_world
    bad_key = await w.targets.create_target(
        w.owner, w.ssh_spec("bad key", key_file=str(w.sshd.other_key)))
    report = await w.targets.test_connection(w.owner, bad_key.id)
    assert report.steps[2].code == "TARGET_AUTH_FAILED"
    assert "authorized_keys" in report.error
    assert (await w.targets.get_target(w.owner, bad_key.id)).status is TargetStatus.ERROR

    bad_pw = await w.targets.create_target(
        w.owner, w.ssh_spec("bad pw", auth=TargetAuth.PASSWORD, key_file=""),
        secret="wrong password")
    with pytest.raises(TargetAuthError, match="refused the password"):
        await w.targets.scan(w.owner, bad_pw.id)
    assert (await w.targets.get_target(w.owner, bad_pw.id)).status is TargetStatus.ERROR
    # The right password, set by editing: the pooled connection is replaced.
    await w.targets.update_target(w.owner, bad_pw.id, w.ssh_spec(
        "bad pw", auth=TargetAuth.PASSWORD, key_file=""), secret=w.sshd.password)
    outcome = await w.targets.scan(w.owner, bad_pw.id)
    assert outcome.target.status is TargetStatus.ONLINE


async def test_changed_host_key_is_refused(target_world: TargetWorld) -> None:
    import asyncssh

    w = target_world
    await w.pool.known_hosts.add(w.sshd.host, w.sshd.port,
                                 asyncssh.generate_private_key("ssh-ed25519"))
    target = await w.targets.create_target(w.owner, w.ssh_spec())
    report = await w.targets.test_connection(w.owner, target.id)
    assert report.steps[2].code == "HOST_KEY_CHANGED"
    assert "CHANGED" in report.error and "intercepting" in report.error
    assert w.answers.prompts == []
    assert (await w.targets.get_target(w.owner, target.id)).status is TargetStatus.ERROR
    with pytest.raises(HostKeyChangedError):
        await w.targets.scan(w.owner, target.id)
    # After the user forgets the old key on purpose, the new one is confirmed and used.
    assert await w.targets.forget_host_key(w.owner, target.id)
    assert (await w.targets.test_connection(w.owner, target.id)).ok
    assert len(w.answers.prompts) == 1


async def test_wrong_tls_ca(target_world: TargetWorld) -> None:
    w = target_world
    target = await w.targets.create_target(w.owner, w.tls_spec(ca=w.docker.tls.wrong_ca))
    report = await w.targets.test_connection(w.owner, target.id)
    assert [s.state for s in report.steps] == ["ok", "ok", "failed", "skipped"]
    assert report.steps[2].code == "TLS_FAILED" and "CA" in report.error
    assert (await w.targets.get_target(w.owner, target.id)).status is TargetStatus.ERROR
    with pytest.raises(TlsError, match="not trusted"):
        await w.targets.scan(w.owner, target.id)


async def test_host_without_docker(target_world: TargetWorld) -> None:
    w = target_world
    target = await w.targets.create_target(
        w.owner, w.ssh_spec("no docker", username=w.sshd.nodocker_user))
    report = await w.targets.test_connection(w.owner, target.id)
    assert [s.state for s in report.steps] == ["ok", "ok", "ok", "failed"]
    assert report.steps[3].code == "DOCKER_UNAVAILABLE"
    assert "Docker installed and running" in report.error
    outcome = await w.targets.scan(w.owner, target.id)  # scanned, with the reason
    found = caps(outcome.capabilities)
    assert not found["docker"].available
    assert "Cannot connect to the Docker daemon" in found["docker"].details["reason"]
    assert found["os"].available
    assert outcome.target.status is TargetStatus.ERROR
    local = await w.targets.create_target(
        w.owner, w.local_spec("gone", socket=str(w.folder / "missing.sock")))
    with pytest.raises(DockerUnavailableError):
        async with w.pool.docker(local) as api:
            await api.ping()


async def test_killed_connection_sets_status_and_other_targets_keep_working(
    target_world: TargetWorld,
) -> None:
    w = target_world
    victim = await w.targets.create_target(w.owner, w.ssh_spec("victim"))
    other = await w.targets.create_target(w.owner, w.ssh_spec("other"))
    await w.targets.scan_many(w.owner, [victim.id, other.id])
    victim_exec = await w.pool.executor(victim)
    other_exec = await w.pool.executor(other)
    marker = f"wf-kill-{uuid.uuid4().hex[:8]}"
    doomed = asyncio.create_task(victim_exec.run(f"sleep 20; echo {marker}"))
    survivor = asyncio.create_task(other_exec.run("sleep 1.2; echo fine"))
    await asyncio.sleep(0.5)
    w.sshd.kill_connection_running(marker)
    with pytest.raises(TargetUnreachableError, match="dropped"):
        await doomed
    assert (await survivor).stdout == "fine"
    # The next health round reconnects the victim; both stay online.
    results = {r.target_id: r for r in await w.targets.check_health(w.owner)}
    assert results[victim.id].status is TargetStatus.ONLINE
    assert results[other.id].status is TargetStatus.ONLINE


async def test_health_publishes_only_changes_and_monitor_runs_rounds(
    target_world: TargetWorld,
) -> None:
    w = target_world
    link = w.folder / "engine.sock"
    link.symlink_to(str(w.docker.socket))
    target = await w.targets.create_target(w.owner, w.local_spec("linked", socket=str(link)))
    for _ in range(2):
        [result] = await w.targets.check_health(w.owner)
    assert result.status is TargetStatus.ONLINE and result.last_seen is not None
    link.unlink()  # the engine "goes away"
    for _ in range(2):
        [result] = await w.targets.check_health(w.owner)
    assert result.status is TargetStatus.ERROR
    changes = [e.data for e in w.bus.events if e.event_type == "target.status_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [("unknown", "online"),
                                                        ("online", "error")]
    assert "Docker" in changes[1]["error"]
    stored = await w.targets.get_target(w.owner, target.id)
    assert stored.last_seen == result.last_seen  # last seen while it was online

    rounds = 0
    fourth = asyncio.Event()

    async def round_() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            raise RuntimeError("a failing round does not stop the monitor")
        if rounds == 4:
            fourth.set()

    monitor = HealthMonitor(round_, interval_s=0.02)
    monitor.start()
    await asyncio.wait_for(fourth.wait(), 5)
    await monitor.stop()
    assert rounds >= 4 and not monitor.running


async def test_scan_many_is_concurrent_and_bounded(target_world: TargetWorld) -> None:
    w = target_world
    w.targets.concurrency = 4
    ids = [(await w.targets.create_target(w.owner, w.ssh_spec(f"fleet {i}"))).id
           for i in range(8)]
    started = time.monotonic()
    results = await w.targets.scan_many(w.owner)
    elapsed = time.monotonic() - started
    assert set(results) == set(ids)
    assert all(not isinstance(r, Exception) for r in results.values()), results
    one = min(1.0, elapsed)
    assert elapsed < 8 * one  # concurrent, not one after another
    assert len(w.answers.prompts) == 1  # one host, confirmed once even under concurrency


async def test_secrets_stay_in_the_keyring_and_crud_rules(
    backend: SqlBackend, docker_engine: object, sshd_server: object, tmp_path: Path
) -> None:
    w = await build_world(backend, docker_engine, sshd_server, tmp_path)  # type: ignore[arg-type]
    try:
        secret = f"pw-{uuid.uuid4().hex}"
        target = await w.targets.create_target(
            w.owner, w.ssh_spec("with password", auth=TargetAuth.PASSWORD, key_file=""),
            secret=secret)
        assert target.secret_ref == secret_name(target.id)
        assert w.keyring.values() == [secret]
        async with backend.unit_of_work() as uow:
            session = uow.targets.session  # type: ignore[attr-defined]
            for table in ("targets", "audit_events"):
                rows = (await session.execute(sa.text(f"SELECT * FROM {table}"))).all()
                assert secret not in repr(rows)
        assert all(secret not in repr(e.to_dict()) for e in w.bus.events)

        with pytest.raises(PermissionDeniedError):
            await w.targets.create_target(w.viewer, w.local_spec())
        with pytest.raises(PermissionDeniedError):
            await w.targets.scan(w.viewer, target.id)
        assert (await w.targets.get_target(w.viewer, target.id)).name == "with password"
        with pytest.raises(ValidationError) as bad:
            await w.targets.create_target(w.owner, TargetSpec(name="x", kind=TargetKind.SSH))
        assert bad.value.field == "host"
        with pytest.raises(ValidationError) as bad:
            await w.targets.create_target(w.owner, w.ssh_spec(
                "no pw", auth=TargetAuth.PASSWORD, key_file=""))
        assert bad.value.field == "secret"
        with pytest.raises(ValidationError) as bad:
            await w.targets.create_target(w.owner, TargetSpec(
                name="plain", kind=TargetKind.DOCKER_TCP, host="10.0.0.1"))
        assert bad.value.field == "ca_file"  # plain TCP only by explicit choice
        insecure = await w.targets.create_target(w.owner, TargetSpec(
            name="plain", kind=TargetKind.DOCKER_TCP, host="10.0.0.1", insecure=True))
        assert insecure.tls == {"insecure": True}

        other_org = await add_org(backend, f"other{uuid.uuid4().hex[:6]}")
        from windflow_desktop.domain.enums import Role

        stranger = await add_member(backend, other_org.id, f"s{uuid.uuid4().hex[:6]}",
                                    Role.OWNER)
        with pytest.raises(NotFoundError):
            await w.targets.get_target(stranger, target.id)
        assert (await w.targets.list_targets(stranger)).items == ()

        await w.targets.delete_target(w.owner, target.id)
        assert w.keyring.values() == []
        assert "target.deleted" in w.bus.types()
    finally:
        await w.pool.close()

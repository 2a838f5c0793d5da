"""TerminalService on the real engine through each target kind: a shell in a running
busybox container echoes, follows a resize (``stty size``), ends with its exit code;
a viewer is refused; the audit row says who, where and which shell — never what was
typed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.env.docker import BUSYBOX_IMAGE
from tests.support.target import TargetWorld
from windflow_desktop.domain.errors import PermissionDeniedError, ValidationError
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.domain.terminal import TerminalSession
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.terminal import TerminalService


@pytest.fixture
async def container(target_world: TargetWorld) -> AsyncIterator[str]:
    w = target_world
    out = await asyncio.to_thread(
        w.docker.cli, "run", "-d", "--name", f"wf-term-{uuid.uuid4().hex[:8]}",
        "--network", "none", "--stop-signal", "SIGKILL", BUSYBOX_IMAGE, "sleep", "3600")
    cid = out.strip()
    try:
        yield cid
    finally:
        await asyncio.to_thread(w.docker.cli, "rm", "-f", cid)


def _service(w: TargetWorld) -> TerminalService:
    return TerminalService(ServiceContext(w.backend, w.bus, clock=w.clock), w.pool)


async def _until(session: TerminalSession, seen: bytearray, wanted: bytes,
                 timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while wanted not in seen:
            chunk = await session.read()
            assert chunk, f"the shell ended before {wanted!r}: {bytes(seen)[-300:]!r}"
            seen.extend(chunk)


@pytest.mark.parametrize("kind", ["local", "ssh", "tls"])
async def test_a_shell_echoes_resizes_and_exits(target_world: TargetWorld, container: str,
                                                kind: str) -> None:
    w = target_world
    spec = {"local": w.local_spec, "ssh": w.ssh_spec, "tls": w.tls_spec}[kind]()
    target = await w.targets.create_target(w.owner, spec)
    service = _service(w)
    session = await service.open(w.owner, target.id, container, "sh", cols=80, rows=24)
    seen = bytearray()
    try:
        # The typed line differs from its output: only the shell's answer matches.
        await session.write(b"echo hel''lo-$((6*7))\r")
        await _until(session, seen, b"hello-42")
        await session.write(b"busybox stty size\r")
        await _until(session, seen, b"24 80")
        await session.resize(100, 30)
        await session.write(b"busybox stty size\r")
        await _until(session, seen, b"30 100")
        await session.write(b"exit 3\r")
        async with asyncio.timeout(10):
            while await session.read():
                pass
        assert session.exit_code == 3
    finally:
        await session.close()
    await session.close()  # idempotent

    async with w.backend.unit_of_work() as uow:
        audit = await uow.audit.list(w.owner.organization_id, PageRequest(100),
                                     type_prefix="container.")
    [row] = [r for r in audit.items if r.type == "container.shell_opened"]
    assert (row.actor_id, row.aggregate_id) == (w.owner.user_id, container)
    assert row.data == {"target_id": str(target.id), "target": target.name, "shell": "sh"}
    assert "echo" not in json.dumps([r.data for r in audit.items])  # never the keystrokes
    assert "container.shell_opened" in w.bus.types()


async def test_a_viewer_cannot_open_a_shell(target_world: TargetWorld, container: str) -> None:
    w = target_world
    target = await w.targets.create_target(w.owner, w.local_spec())
    service = _service(w)
    with pytest.raises(PermissionDeniedError, match="containers:exec"):
        await service.open(w.viewer, target.id, container)
    with pytest.raises(ValidationError):
        await service.open(w.owner, target.id, container, "python")
    for ref in ("--privileged", "", "a b"):  # never an option of docker exec
        with pytest.raises(ValidationError):
            await service.open(w.owner, target.id, ref)
    assert "container.shell_opened" not in w.bus.types()


async def test_a_missing_shell_ends_the_session(target_world: TargetWorld,
                                                container: str) -> None:
    """busybox has no bash: the session opens, says so and ends (the window closes it)."""
    w = target_world
    target = await w.targets.create_target(w.owner, w.local_spec())
    session = await _service(w).open(w.owner, target.id, container, "bash")
    try:
        async with asyncio.timeout(10):
            while await session.read():
                pass
        assert session.exit_code not in (None, 0)
    finally:
        await session.close()

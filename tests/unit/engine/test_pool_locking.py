"""``ExecutorPool.ssh``: a slow keyring lookup (or a slow close of a replaced connection)
for one target does not delay getting another target's executor; one target still gets
one pooled connection."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from windflow_desktop.domain.enums import TargetAuth, TargetKind
from windflow_desktop.domain.models import Target
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts, SshTarget


def ssh_target(name: str, **kw: object) -> Target:
    values: dict[str, object] = {
        "organization_id": uuid.uuid4(), "name": name, "kind": TargetKind.SSH,
        "host": "127.0.0.1", "port": 22, "username": "deploy", "auth": TargetAuth.AGENT,
    }
    values.update(kw)
    return Target(**values)  # type: ignore[arg-type]


async def test_slow_secret_lookup_of_one_target_does_not_delay_another(
    tmp_path: Path,
) -> None:
    gate, asked = asyncio.Event(), asyncio.Event()

    async def lookup(ref: str) -> str | None:
        asked.set()
        await gate.wait()  # a keyring waiting for the user to unlock it
        return "pw"

    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), lookup)
    a = ssh_target("a", auth=TargetAuth.PASSWORD, secret_ref="target/a/secret")
    b = ssh_target("b")
    try:
        slow = asyncio.ensure_future(pool.executor(a))
        await asyncio.wait_for(asked.wait(), 2)
        # b does not wait for a's lookup (which never ends unless the gate opens)
        b_exec = await asyncio.wait_for(pool.executor(b), 10)
        assert isinstance(b_exec, SshTarget) and not slow.done()
        # Another caller of A waits for the same connection, not a second one.
        again = asyncio.ensure_future(pool.executor(a))
        await asyncio.sleep(0.01)
        gate.set()
        a_exec, a_again = await asyncio.wait_for(asyncio.gather(slow, again), 2)
        assert a_exec is a_again
        assert await pool.executor(b) is b_exec
    finally:
        gate.set()
        await pool.close()


async def test_slow_close_of_a_replaced_connection_does_not_delay_another(
    tmp_path: Path,
) -> None:
    async def lookup(ref: str) -> str | None:
        return None

    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), lookup)
    a, b = ssh_target("a"), ssh_target("b")
    old = await pool.ssh(a)
    closing, release = asyncio.Event(), asyncio.Event()

    async def slow_close() -> None:
        closing.set()
        await release.wait()

    old.close = slow_close  # type: ignore[method-assign]
    try:
        edited = ssh_target("a", id=a.id, host="127.0.0.2")
        replacing = asyncio.ensure_future(pool.ssh(edited))
        await asyncio.wait_for(closing.wait(), 2)
        await asyncio.wait_for(pool.ssh(b), 0.5)
        release.set()
        assert await replacing is not old
    finally:
        release.set()
        await pool.close()

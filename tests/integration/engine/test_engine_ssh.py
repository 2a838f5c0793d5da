"""The SSH executor against the real test sshd: commands with env/stdin/streaming, file
upload, one reused connection, host keys (trust on first use, refusal of a changed key),
authentication failures, timeouts, an unreachable host, and a connection killed in the
middle of a command — which must not touch another target's work."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from tests.env.sshd import SshServer
from tests.support.target import HostKeyAnswers
from windflow_desktop.domain.enums import TargetAuth
from windflow_desktop.domain.errors import TargetUnreachableError
from windflow_desktop.engine.errors import (
    CommandTimeoutError,
    ConnectionDroppedError,
    HostKeyChangedError,
    HostKeyRejectedError,
    TargetAuthError,
)
from windflow_desktop.engine.ssh import KnownHosts, SshEndpoint, SshSettings, SshTarget

SETTINGS = SshSettings(connect_timeout_s=2.0, command_timeout_s=20, config_paths=[])


def endpoint(sshd: SshServer, **kw: object) -> SshEndpoint:
    values: dict[str, object] = {"host": sshd.host, "port": sshd.port, "username": sshd.user,
                                 "auth": TargetAuth.KEY, "key_file": str(sshd.client_key)}
    values.update(kw)
    return SshEndpoint(**values)  # type: ignore[arg-type]


@pytest.fixture
async def trusted(sshd_server: SshServer, tmp_path: Path) -> KnownHosts:
    known = KnownHosts(tmp_path / "known_hosts")
    await known.add(sshd_server.host, sshd_server.port,
                    asyncssh.import_public_key(sshd_server.host_public_key))
    return known


@pytest.fixture
async def ssh(sshd_server: SshServer, trusted: KnownHosts) -> AsyncIterator[SshTarget]:
    target = SshTarget(endpoint(sshd_server), trusted, settings=SETTINGS)
    yield target
    await target.close()


async def test_run_streams_lines_with_env_and_stdin_on_one_connection(ssh: SshTarget) -> None:
    seen: list[tuple[str, str]] = []
    result = await ssh.run(
        'echo "hello $WHO"; cat; echo oops >&2; exit 3',
        env={"WHO": "it's me"}, stdin="from stdin\n",
        on_line=lambda stream, line: seen.append((stream, line)),
    )
    assert result.exit_code == 3
    assert result.stdout.splitlines() == ["hello it's me", "from stdin"]
    assert result.stderr == "oops"
    assert ("stdout", "hello it's me") in seen and ("stderr", "oops") in seen
    # Many commands at once share the one connection.
    results = await asyncio.gather(*(ssh.run(["echo", str(i)]) for i in range(12)))
    assert [r.stdout for r in results] == [str(i) for i in range(12)]
    assert ssh.connects == 1


async def test_timeout_stops_the_command_and_keeps_the_connection(ssh: SshTarget) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeoutError, match=r"within 0\.5 s"):
        await ssh.run("sleep 30", timeout=0.5)
    assert time.monotonic() - started < 10  # not the 30 s sleep
    assert (await ssh.run("echo still here")).stdout == "still here"
    assert ssh.connects == 1


async def test_cancelling_a_command_leaves_the_connection_usable(ssh: SshTarget) -> None:
    task = asyncio.create_task(ssh.run("sleep 30"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await ssh.run("echo ok")).stdout == "ok"


async def test_killed_connection_fails_only_its_own_work_and_reconnects(
    sshd_server: SshServer, trusted: KnownHosts
) -> None:
    victim = SshTarget(endpoint(sshd_server), trusted, settings=SETTINGS)
    other = SshTarget(endpoint(sshd_server), trusted, settings=SETTINGS)
    try:
        marker = f"wf-drop-{uuid.uuid4().hex[:8]}"
        doomed = asyncio.create_task(victim.run(f"sleep 20; echo {marker}"))
        survivor = asyncio.create_task(other.run("sleep 1.5; echo survived"))
        await asyncio.sleep(0.6)
        sshd_server.kill_connection_running(marker)
        started = time.monotonic()
        with pytest.raises(ConnectionDroppedError, match="dropped while running a command"):
            await doomed
        assert time.monotonic() - started < 10  # not the 20 s sleep
        assert (await survivor).stdout == "survived"
        assert other.connects == 1
        # The next command on the dropped target reconnects by itself.
        assert (await victim.run("echo back")).stdout == "back"
        assert victim.connects == 2
    finally:
        await victim.close()
        await other.close()


async def test_new_host_key_is_confirmed_then_trusted(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    known = KnownHosts(tmp_path / "kh")
    answers = HostKeyAnswers(accept=False)
    first = SshTarget(endpoint(sshd_server), known, settings=SETTINGS, confirm=answers)
    with pytest.raises(HostKeyRejectedError, match="was not accepted"):
        await first.run("true")
    assert not (tmp_path / "kh").exists()
    expected = (await asyncio.to_thread(
        subprocess.run, ["ssh-keygen", "-lf", f"{sshd_server.host_key}.pub"],
        capture_output=True, text=True, check=True,
    )).stdout.split()[1]
    assert answers.prompts[0].fingerprint == expected
    assert answers.prompts[0].port == sshd_server.port
    answers.accept = True
    second = SshTarget(endpoint(sshd_server), known, settings=SETTINGS, confirm=answers)
    assert (await second.run("echo trusted")).stdout == "trusted"
    assert f"[{sshd_server.host}]:{sshd_server.port} ssh-ed25519" in (tmp_path / "kh").read_text()
    await second.close()
    # A fresh pool reads the file: no question asked again.
    answers.prompts.clear()
    third = SshTarget(endpoint(sshd_server), KnownHosts(tmp_path / "kh"), settings=SETTINGS,
                      confirm=answers)
    assert (await third.run("echo again")).stdout == "again"
    assert answers.prompts == []
    await third.close()


async def test_changed_host_key_is_refused(sshd_server: SshServer, tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "kh")
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    await known.add(sshd_server.host, sshd_server.port, impostor)
    answers = HostKeyAnswers(accept=True)
    target = SshTarget(endpoint(sshd_server), known, settings=SETTINGS, confirm=answers)
    with pytest.raises(HostKeyChangedError, match="CHANGED"):
        await target.run("true")
    assert answers.prompts == []  # never offered to accept the new key
    assert not target.connected


async def test_wrong_key_and_wrong_password_are_auth_errors(
    sshd_server: SshServer, trusted: KnownHosts
) -> None:
    wrong_key = SshTarget(endpoint(sshd_server, key_file=str(sshd_server.other_key)), trusted,
                          settings=SETTINGS)
    with pytest.raises(TargetAuthError, match="refused the key"):
        await wrong_key.run("true")
    wrong_pw = SshTarget(endpoint(sshd_server, auth=TargetAuth.PASSWORD, key_file=None,
                                  secret="not the password"), trusted, settings=SETTINGS)
    with pytest.raises(TargetAuthError, match="refused the password"):
        await wrong_pw.run("true")
    right_pw = SshTarget(endpoint(sshd_server, auth=TargetAuth.PASSWORD, key_file=None,
                                  secret=sshd_server.password), trusted, settings=SETTINGS)
    assert (await right_pw.run("whoami")).stdout == sshd_server.user
    await right_pw.close()


async def test_unreachable_hosts_end_within_the_timeout(
    sshd_server: SshServer, trusted: KnownHosts
) -> None:
    # A port that accepts TCP but never speaks SSH: the host "does not answer".
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        port = silent.getsockname()[1]
        target = SshTarget(endpoint(sshd_server, port=port), trusted,
                           settings=SshSettings(connect_timeout_s=1.0, config_paths=[]))
        started = time.monotonic()
        with pytest.raises(TargetUnreachableError, match="did not answer within 1 s"):
            await target.run("true")
        assert 0.9 < time.monotonic() - started < 8  # the 1 s timeout, not TCP's
    finally:
        silent.close()
    closed = SshTarget(endpoint(sshd_server, port=1), trusted, settings=SETTINGS)
    with pytest.raises(TargetUnreachableError, match="refused the connection"):
        await closed.run("true")
    unknown = SshTarget(endpoint(sshd_server, host="no-such-host.invalid"), trusted,
                        settings=SETTINGS)
    with pytest.raises(TargetUnreachableError, match="could not be resolved"):
        await unknown.run("true")

"""A target's saved password (or key passphrase) only goes to the server it was entered
for: ``test_draft(target_id=…)`` and ``update_target`` reuse it only while the host, port,
username and sign-in method are unchanged; otherwise it must be entered again. A changed
secret is written under a new keyring name, so a failed commit loses nothing. Real SQLite,
an in-memory keyring and the session's real sshd."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.target import TargetWorld
from windflow_desktop.domain.enums import TargetAuth
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.repositories.sql.backend import SqlUnitOfWork
from windflow_desktop.services.targets import secret_name


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that records every connection it receives."""
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(b"connected")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        server.close()
        await server.wait_closed()


async def test_draft_does_not_send_the_saved_password_elsewhere(
    target_world: TargetWorld, listener: tuple[int, list[bytes]]
) -> None:
    w = target_world
    port, seen = listener
    spec = w.ssh_spec("pw", auth=TargetAuth.PASSWORD, key_file="")
    target = await w.targets.create_target(w.owner, spec, secret=w.sshd.password)

    # Same server: the saved password is reused and the login works.
    report = await w.targets.test_draft(w.owner, spec, target_id=target.id)
    assert report.ok, report.error

    # Another port (an admin's own server): refused before any connection.
    with pytest.raises(ValidationError) as bad:
        await w.targets.test_draft(w.owner, w.ssh_spec(
            "pw", auth=TargetAuth.PASSWORD, key_file="", port=port), target_id=target.id)
    assert bad.value.field == "secret"
    assert "enter the password again: the port changed" in bad.value.message
    with pytest.raises(ValidationError, match="the host changed"):
        await w.targets.test_draft(w.owner, w.ssh_spec(
            "pw", auth=TargetAuth.PASSWORD, key_file="", host="localhost"),
            target_id=target.id)
    with pytest.raises(ValidationError, match="the username changed"):
        await w.targets.test_draft(w.owner, w.ssh_spec(
            "pw", auth=TargetAuth.PASSWORD, key_file="", username="someone"),
            target_id=target.id)
    assert seen == []

    # Given again, the password goes where the user says.
    report = await w.targets.test_draft(w.owner, w.ssh_spec(
        "pw", auth=TargetAuth.PASSWORD, key_file="", port=port),
        secret="typed again", target_id=target.id)
    assert not report.ok  # not an SSH server
    assert seen


async def test_update_keeps_the_secret_only_for_the_same_endpoint(
    target_world: TargetWorld, listener: tuple[int, list[bytes]]
) -> None:
    w = target_world
    port, _ = listener
    spec = w.ssh_spec("pw", auth=TargetAuth.PASSWORD, key_file="")
    target = await w.targets.create_target(w.owner, spec, secret=w.sshd.password)

    with pytest.raises(ValidationError) as bad:
        await w.targets.update_target(w.owner, target.id, w.ssh_spec(
            "pw", auth=TargetAuth.PASSWORD, key_file="", port=port))
    assert bad.value.field == "secret"
    assert "enter the password again: the port changed" in bad.value.message
    kept = await w.targets.get_target(w.owner, target.id)
    assert (kept.port, kept.secret_ref) == (w.sshd.port, secret_name(target.id))
    assert w.keyring.values() == [w.sshd.password]

    # Renaming only: the secret stays.
    renamed = await w.targets.update_target(w.owner, target.id, w.ssh_spec(
        "renamed", auth=TargetAuth.PASSWORD, key_file=""))
    assert renamed.secret_ref == secret_name(target.id)
    assert (await w.targets.scan(w.owner, target.id)).target.name == "renamed"

    # A new port with the password given again: stored under a new name, old one gone.
    moved = await w.targets.update_target(w.owner, target.id, w.ssh_spec(
        "renamed", auth=TargetAuth.PASSWORD, key_file="", port=port), secret="new pw")
    assert moved.secret_ref and moved.secret_ref != secret_name(target.id)
    assert w.keyring.values() == ["new pw"]

    # Switching to key auth elsewhere: the password is not kept for it.
    keyed = await w.targets.update_target(w.owner, target.id, w.ssh_spec("renamed"))
    assert keyed.secret_ref is None
    assert w.keyring.values() == []


async def test_failed_commit_keeps_the_old_secret(
    target_world: TargetWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = target_world
    spec = w.ssh_spec("pw", auth=TargetAuth.PASSWORD, key_file="")
    target = await w.targets.create_target(w.owner, spec, secret=w.sshd.password)

    async def broken_commit(self: SqlUnitOfWork) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(SqlUnitOfWork, "commit", broken_commit)
        with pytest.raises(RuntimeError, match="disk full"):
            await w.targets.update_target(w.owner, target.id, spec, secret="new pw")

    saved = await w.targets.get_target(w.owner, target.id)
    assert saved.secret_ref == secret_name(target.id)
    assert w.keyring.values() == [w.sshd.password]  # the old one, and no stray new one
    assert (await w.targets.scan(w.owner, target.id)).target.status.value == "online"

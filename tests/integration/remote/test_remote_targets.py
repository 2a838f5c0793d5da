"""``RemoteTargets`` against a real ``windflow serve`` whose targets are a real Docker
engine: each method of the targets protocol through the remote class, checked against
what the server did (read back through the remote class and through the HTTP API);
refusals come back as the domain's errors; a new SSH host key trusted through it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.env.docker import DockerEngine
from tests.env.sshd import SshServer
from tests.support.server import (
    Server,
    acme_server,
    bearer,
    sign_in,
    signed_in,
)
from windflow_desktop.domain.enums import Role, TargetAuth, TargetKind, TargetStatus
from windflow_desktop.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.domain.targets import FAILED, OK, StepResult, TargetSpec
from windflow_desktop.remote.targets import RemoteTargets

# Accepted for the protocol, never sent: the server acts for the token's caller.
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: ``olga`` (owner) and ``vera`` (viewer) of Acme."""
    with acme_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture
def owner_token(server: Server) -> str:
    with server.client() as client:
        return str(sign_in(client, "olga")["access_token"])


@pytest.fixture
async def http(server: Server, owner_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API as olga, to check what the server really holds."""
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30,
                                 headers=bearer(owner_token)) as client:
        yield client


@pytest.fixture
async def targets(server: Server) -> AsyncIterator[RemoteTargets]:
    session = await signed_in(server, "olga")
    try:
        yield RemoteTargets(session)
    finally:
        await session.close()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _local(engine: DockerEngine, name: str, **labels: str) -> TargetSpec:
    return TargetSpec(name=name, kind=TargetKind.LOCAL, docker_socket=engine.host,
                      labels=labels)


def _nowhere(tmp_path: Path, name: str) -> TargetSpec:
    return TargetSpec(name=name, kind=TargetKind.LOCAL,
                      docker_socket=f"unix://{tmp_path}/no-engine.sock")


async def test_create_read_list_and_delete(targets: RemoteTargets, http: httpx.AsyncClient,
                                           docker_engine: DockerEngine,
                                           tmp_path: Path) -> None:
    made = await targets.create_target(NOBODY, _local(docker_engine, _name("box"),
                                                      team="web"))
    assert made.kind is TargetKind.LOCAL and made.labels == {"team": "web"}
    assert made.docker_socket == docker_engine.host and made.secret_ref is None
    read = await targets.get_target(NOBODY, made.id)
    assert (read.id, read.name, read.organization_id, read.created_at) == (
        made.id, made.name, made.organization_id, made.created_at)
    on_server = (await http.get(f"/targets/{made.id}")).json()
    assert on_server["name"] == made.name and on_server["docker_socket"] == docker_engine.host
    other = await targets.create_target(NOBODY, _nowhere(tmp_path, _name("nowhere")))
    ssh = await targets.create_target(NOBODY, TargetSpec(
        name=_name("ssh"), kind=TargetKind.SSH, host="10.0.0.7", username="deploy"))

    listed = await targets.list_targets(NOBODY)
    assert {made.id, other.id, ssh.id} <= {t.id for t in listed.items}
    assert listed.next_cursor is None
    # A page of one, then the next by its cursor: the server's pages, as they are.
    first = await targets.list_targets(NOBODY, PageRequest(limit=1))
    assert len(first.items) == 1 and first.next_cursor is not None
    second = await targets.list_targets(NOBODY, PageRequest(limit=1, after=first.next_cursor))
    assert second.items[0].id != first.items[0].id
    found = await targets.list_targets(NOBODY, PageRequest(search=made.name))
    assert [t.id for t in found.items] == [made.id]
    by_kind = await targets.list_targets(NOBODY, kind=TargetKind.SSH)
    assert ssh.id in {t.id for t in by_kind.items}
    assert {t.kind for t in by_kind.items} == {TargetKind.SSH}
    await targets.check_health(NOBODY, [made.id])
    online = await targets.list_targets(NOBODY, status=TargetStatus.ONLINE)
    assert made.id in {t.id for t in online.items}
    assert {t.status for t in online.items} == {TargetStatus.ONLINE}

    await targets.delete_target(NOBODY, other.id)
    with pytest.raises(NotFoundError):
        await targets.get_target(NOBODY, other.id)
    assert (await http.get(f"/targets/{other.id}")).status_code == 404
    with pytest.raises(NotFoundError):
        await targets.delete_target(NOBODY, other.id)


async def test_update_keeps_drops_or_asks_again_for_the_secret(
        targets: RemoteTargets, http: httpx.AsyncClient) -> None:
    spec = TargetSpec(name=_name("ssh"), kind=TargetKind.SSH, host="10.0.0.1",
                      username="deploy", auth=TargetAuth.PASSWORD)
    made = await targets.create_target(NOBODY, spec, "s3cret-password")
    assert (await http.get(f"/targets/{made.id}")).json()["has_secret"] is True

    async def has_secret() -> bool:
        return bool((await http.get(f"/targets/{made.id}")).json()["has_secret"])

    # Left out: the saved password stays (same endpoint).
    renamed = await targets.update_target(NOBODY, made.id, replace(
        spec, name=spec.name + "-b", labels={"env": "prod"}))
    assert (renamed.name, renamed.labels) == (spec.name + "-b", {"env": "prod"})
    assert (await targets.get_target(NOBODY, made.id)).labels == {"env": "prod"}
    assert await has_secret()
    # Another host: the password must be entered again, said about the field.
    with pytest.raises(ValidationError) as again:
        await targets.update_target(NOBODY, made.id, replace(
            spec, host="10.0.0.2"))
    assert again.value.field == "secret"
    # A new one is taken; agent sign-in with ``None`` drops it.
    await targets.update_target(NOBODY, made.id, replace(
        spec, host="10.0.0.2"), "another-password")
    assert await has_secret()
    assert (await http.get(f"/targets/{made.id}")).json()["host"] == "10.0.0.2"
    dropped = await targets.update_target(NOBODY, made.id, replace(
        spec, host="10.0.0.2", auth=TargetAuth.AGENT), None)
    assert dropped.auth is TargetAuth.AGENT and not await has_secret()
    with pytest.raises(NotFoundError):
        await targets.update_target(NOBODY, uuid.uuid4(), spec)


async def test_connection_tests_scan_and_health(targets: RemoteTargets, http: httpx.AsyncClient,
                                                docker_engine: DockerEngine,
                                                tmp_path: Path) -> None:
    box = await targets.create_target(NOBODY, _local(docker_engine, _name("box")))
    steps: list[StepResult] = []
    report = await targets.test_connection(NOBODY, box.id, on_step=steps.append)
    assert report.ok and report.engine_version == docker_engine.server_version()
    assert steps == list(report.steps) and all(s.state == OK for s in steps)
    assert (await targets.get_target(NOBODY, box.id)).status is TargetStatus.ONLINE

    # A draft: tested by the server, stored nowhere.
    before = {t.id for t in (await targets.list_targets(NOBODY)).items}
    drafted: list[StepResult] = []
    draft = await targets.test_draft(NOBODY, _local(docker_engine, _name("draft")),
                                     on_step=drafted.append)
    assert draft.ok and drafted == list(draft.steps)
    broken = await targets.test_draft(NOBODY, _nowhere(tmp_path, _name("draft")),
                                      target_id=box.id)
    assert not broken.ok and any(s.state == FAILED for s in broken.steps)
    assert broken.error and broken.status is not TargetStatus.ONLINE
    assert {t.id for t in (await targets.list_targets(NOBODY)).items} == before

    outcome = await targets.scan(NOBODY, box.id)
    assert outcome.target.id == box.id and outcome.target.status is TargetStatus.ONLINE
    docker = next(c for c in outcome.capabilities if c.kind == "docker")
    assert docker.available and docker.version == docker_engine.server_version()
    stored = await targets.capabilities(NOBODY, box.id)
    assert {c.kind for c in stored} == {c.kind for c in outcome.capabilities}
    # The scan's answer names no secret reference (the target reads as everywhere else).
    assert "secret_ref" not in (await http.post(f"/targets/{box.id}/scan")).json()["target"]

    gone = await targets.create_target(NOBODY, _nowhere(tmp_path, _name("gone")))
    results = {r.target_id: r for r in await targets.check_health(NOBODY, [box.id, gone.id])}
    assert results[box.id].status is TargetStatus.ONLINE and results[box.id].last_seen
    assert results[gone.id].status is not TargetStatus.ONLINE and results[gone.id].error
    assert results[gone.id].changed  # unknown -> offline
    assert (await http.get(f"/targets/{gone.id}")).json()["status"] == \
        results[gone.id].status.value
    everyone = await targets.check_health(NOBODY)
    assert {box.id, gone.id} <= {r.target_id for r in everyone}
    scanned = await targets.scan(NOBODY, gone.id)
    assert scanned.target.status is not TargetStatus.ONLINE
    assert not any(c.available for c in scanned.capabilities if c.kind == "docker")
    with pytest.raises(NotFoundError):
        await targets.check_health(NOBODY, [uuid.uuid4()])

    # No host key was ever stored for this SSH target: nothing to forget.
    ssh = await targets.create_target(NOBODY, TargetSpec(
        name=_name("ssh"), kind=TargetKind.SSH, host="10.0.0.9", username="deploy",
        auth=TargetAuth.AGENT))
    assert await targets.forget_host_key(NOBODY, ssh.id) is False
    assert targets.concurrency >= 1


async def test_refusals_are_the_domains_errors(server: Server, targets: RemoteTargets,
                                               tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as bad:
        await targets.create_target(NOBODY, TargetSpec(name=_name("ssh"), kind=TargetKind.SSH))
    assert bad.value.field == "host"
    with pytest.raises(ValidationError) as bad_draft:
        await targets.test_draft(NOBODY, TargetSpec(name="x", kind=TargetKind.SSH,
                                                    host="10.0.0.1", auth=TargetAuth.KEY))
    assert bad_draft.value.field == "key_file"
    with pytest.raises(NotFoundError):
        await targets.get_target(NOBODY, uuid.uuid4())
    with pytest.raises(NotFoundError):
        await targets.capabilities(NOBODY, uuid.uuid4())
    box = await targets.create_target(NOBODY, _nowhere(tmp_path, _name("box")))

    viewer_session = await signed_in(server, "vera")
    try:
        viewer = RemoteTargets(viewer_session)
        assert box.id in {t.id for t in (await viewer.list_targets(NOBODY)).items}
        refused: list[Callable[[], Awaitable[Any]]] = [
            lambda: viewer.create_target(NOBODY, _nowhere(tmp_path, _name("mine"))),
            lambda: viewer.update_target(NOBODY, box.id, _nowhere(tmp_path, "renamed")),
            lambda: viewer.delete_target(NOBODY, box.id),
            lambda: viewer.test_connection(NOBODY, box.id),
            lambda: viewer.test_draft(NOBODY, _nowhere(tmp_path, "draft")),
            lambda: viewer.scan(NOBODY, box.id),
            lambda: viewer.forget_host_key(NOBODY, box.id),
        ]
        for call in refused:
            with pytest.raises(PermissionDeniedError):
                await call()
        # Health needs no more than reading (what the service checks).
        assert [r.target_id for r in await viewer.check_health(NOBODY, [box.id])] == [box.id]
    finally:
        await viewer_session.close()
    assert (await targets.get_target(NOBODY, box.id)).name == box.name


async def test_a_target_read_back_edits_without_losing_its_key_files(
        targets: RemoteTargets, http: httpx.AsyncClient, tmp_path: Path) -> None:
    """What the edit wizard does: the target as read, into a spec, changed, saved — its
    key and certificate file paths come back from the server, so nothing is lost and
    nothing is refused for a missing key file."""
    tls = await targets.create_target(NOBODY, TargetSpec(
        name=_name("tls"), kind=TargetKind.DOCKER_TCP, host="10.0.0.3", port=2376,
        ca_file=str(tmp_path / "ca.pem"), cert_file=str(tmp_path / "cert.pem"),
        client_key_file=str(tmp_path / "key.pem")))
    ssh = await targets.create_target(NOBODY, TargetSpec(
        name=_name("ssh"), kind=TargetKind.SSH, host="10.0.0.4", username="deploy",
        auth=TargetAuth.KEY, key_file=str(tmp_path / "id_ed25519")), "passphrase")
    for made in (tls, ssh):
        spec = TargetSpec.of(await targets.get_target(NOBODY, made.id))
        changed = await targets.update_target(NOBODY, made.id,
                                              replace(spec, labels={"edited": "yes"}))
        assert TargetSpec.of(changed) == replace(spec, labels={"edited": "yes"})
        assert changed.tls == made.tls and changed.tls
        shown = (await http.get(f"/targets/{made.id}")).json()
        assert "secret_ref" not in shown and shown["tls"] == made.tls
    assert TargetSpec.of(await targets.get_target(NOBODY, tls.id)).client_key_file == str(
        tmp_path / "key.pem")


async def test_a_new_host_key_is_trusted_then_forgotten(
        targets: RemoteTargets, sshd_server: SshServer) -> None:
    """On a server no dialog asks: the first test is refused and the key waits; trusted
    through the remote class, the next test connects; forgetting it then finds it."""
    box = await targets.create_target(NOBODY, TargetSpec(
        name=_name("ssh"), kind=TargetKind.SSH, host=sshd_server.host, port=sshd_server.port,
        username=sshd_server.user, auth=TargetAuth.PASSWORD), sshd_server.password)
    assert await targets.pending_host_key(NOBODY, box.id) is None
    first = await targets.test_connection(NOBODY, box.id)
    assert not first.ok
    pending = await targets.pending_host_key(NOBODY, box.id)
    assert pending is not None and pending.fingerprint.startswith("SHA256:")
    assert (pending.host, pending.port) == (sshd_server.host, sshd_server.port)
    with pytest.raises(ConflictError):
        await targets.trust_host_key(NOBODY, box.id, "SHA256:not-the-one-it-offered")
    await targets.trust_host_key(NOBODY, box.id, pending.fingerprint)
    assert (await targets.test_connection(NOBODY, box.id)).ok
    assert await targets.pending_host_key(NOBODY, box.id) is None
    assert await targets.forget_host_key(NOBODY, box.id) is True
    assert await targets.forget_host_key(NOBODY, box.id) is False

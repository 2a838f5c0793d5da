"""``RemoteTerminal`` through a real ``windflow serve`` to a real Docker engine (a
``local`` target of the server on the test engine's socket): an operator's shell echoes
(read back from a pyte screen, as the terminal widget shows it), follows a resize
(``stty size``), ends with its exit code; the server audits it
(``container.shell_opened``, never the keystrokes); refusals are the domain's errors
before any socket opens; an expired or unknown access token is refreshed as for any
request; over TLS the session's CA is the socket's (an untrusted or absent server is
said as for any request)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pyte
import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, make_tls
from tests.support.server import PASSWORD, Server, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.enums import Role, TargetKind
from windflow_desktop.domain.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.domain.terminal import TerminalSession
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.errors import ServerUnreachableError
from windflow_desktop.remote.targets import RemoteTargets
from windflow_desktop.remote.terminal import RemoteShell, RemoteTerminal

pytestmark = pytest.mark.docker
# Accepted for the protocol, never sent: the server acts for the token's caller.
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: ``olga`` (owner), ``otto`` (operator) and ``vera``
    (viewer) of Acme."""
    home = tmp_path_factory.mktemp("server")
    create_owner(home)
    with running_server(home) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        for name, role in (("otto", "operator"), ("vera", "viewer")):
            made = http.post("/api/v1/users", headers=owner, json={
                "username": name, "email": f"{name}@example.test", "password": PASSWORD,
                "role": role})
            assert made.status_code == 201, made.text
        yield server


async def _signed_in(server: Server, user: str) -> ServerSession:
    session = ServerSession(server.url)
    await session.login(user, PASSWORD)
    return session


@pytest.fixture
async def otto(server: Server) -> AsyncIterator[ServerSession]:
    signed_in = await _signed_in(server, "otto")
    try:
        yield signed_in
    finally:
        await signed_in.close()


@pytest.fixture
async def target_id(server: Server, docker_engine: DockerEngine) -> uuid.UUID:
    owner = await _signed_in(server, "olga")
    try:
        target = await RemoteTargets(owner).create_target(NOBODY, TargetSpec(
            name=f"engine-{uuid.uuid4().hex[:6]}", kind=TargetKind.LOCAL,
            docker_socket=docker_engine.host))
    finally:
        await owner.close()
    return target.id


@pytest.fixture
async def container(docker_engine: DockerEngine) -> AsyncIterator[str]:
    out = await asyncio.to_thread(
        docker_engine.cli, "run", "-d", "--name", f"wf-rterm-{uuid.uuid4().hex[:8]}",
        "--network", "none", "--stop-signal", "SIGKILL", BUSYBOX_IMAGE, "sleep", "3600")
    cid = out.strip()
    try:
        yield cid
    finally:
        await asyncio.to_thread(docker_engine.cli, "rm", "-f", cid)


class Screen:
    """What the terminal widget shows: the shell's output through pyte."""

    def __init__(self, session: TerminalSession, cols: int = 80, rows: int = 24) -> None:
        self.session = session
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def until(self, wanted: str, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while wanted not in self.text():
                chunk = await self.session.read()
                assert chunk, f"the shell ended before {wanted!r}: {self.text()!r}"
                self.stream.feed(chunk)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)


async def test_a_shell_through_the_server_echoes_resizes_exits_and_is_audited(
        server: Server, otto: ServerSession, target_id: uuid.UUID, container: str) -> None:
    terminal = RemoteTerminal(otto)
    assert terminal.available
    session = await terminal.open(NOBODY, target_id, container, "sh", cols=80, rows=24)
    assert isinstance(session, RemoteShell)
    screen = Screen(session)
    try:
        # The typed line differs from its output: only the shell's answer matches.
        await session.write(b"echo hel''lo-$((6*7))\r")
        await screen.until("hello-42")
        await session.write(b"clear; busybox stty size\r")
        await screen.until("24 80")
        await session.resize(100, 30)
        screen.resize(100, 30)
        await session.write(b"clear; busybox stty size\r")
        await screen.until("30 100")
        await session.write(b"exit 3\r")
        async with asyncio.timeout(15):
            while chunk := await session.read():
                screen.stream.feed(chunk)
        assert session.exit_code == 3
    finally:
        await session.close()
    await session.close()  # idempotent
    assert await session.read() == b""

    owner = await _signed_in(server, "olga")
    try:
        me = await otto.me()
        page = await owner.request("GET", "/activity",
                                   params={"type_prefix": "container.", "limit": 100})
    finally:
        await owner.close()
    rows = [r for r in page["items"] if r["type"] == "container.shell_opened"
            and r["aggregate_id"] == container]
    assert len(rows) == 1, page["items"]
    assert rows[0]["actor_id"] == me["user"]["id"]
    assert rows[0]["data"] == {"target_id": str(target_id), "target": rows[0]["data"]["target"],
                               "shell": "sh"}
    assert "echo" not in json.dumps(page["items"])  # never the keystrokes


async def test_refusals_are_the_domains_errors_before_any_socket_opens(
        server: Server, otto: ServerSession, target_id: uuid.UUID, container: str) -> None:
    viewer = await _signed_in(server, "vera")
    try:
        with pytest.raises(PermissionDeniedError, match="containers:exec"):
            await RemoteTerminal(viewer).open(NOBODY, target_id, container)
    finally:
        await viewer.close()
    terminal = RemoteTerminal(otto)
    with pytest.raises(ValidationError) as bad_shell:
        await terminal.open(NOBODY, target_id, container, "python")
    assert bad_shell.value.field == "shell"
    for ref in ("--privileged", "a b"):  # never an option of docker exec
        with pytest.raises(ValidationError):
            await terminal.open(NOBODY, target_id, ref)
    with pytest.raises(NotFoundError):
        await terminal.open(NOBODY, uuid.uuid4(), container)
    with pytest.raises(NotFoundError):
        await terminal.open(NOBODY, target_id, f"no-such-{uuid.uuid4().hex[:6]}")
    signed_out = ServerSession(server.url)
    try:
        with pytest.raises(AuthenticationError):
            await RemoteTerminal(signed_out).open(NOBODY, target_id, container)
    finally:
        await signed_out.close()


def _expired_jwt() -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'exp': int(time.time()) - 60})}.c2ln"


@pytest.mark.parametrize("stale", ["expired", "unknown"])
async def test_a_stale_access_token_is_refreshed_first(
        otto: ServerSession, target_id: uuid.UUID, container: str, stale: str) -> None:
    """An expired token is refreshed before the handshake; one the server refuses (401)
    once after it, as any request's."""
    otto.access_token = _expired_jwt() if stale == "expired" else "not-a-token"
    refreshes = otto.refreshes
    session = await RemoteTerminal(otto).open(NOBODY, target_id, container)
    try:
        await session.write(b"echo f''ine\r")
        await Screen(session).until("fine")
    finally:
        await session.close()
    assert otto.refreshes == refreshes + 1


async def test_over_tls_the_sessions_trust_is_the_sockets(
        tmp_path: Path, docker_engine: DockerEngine, container: str) -> None:
    """``wss://`` with the session's CA file; a session that does not trust the server's
    certificate, or a server that is not there, is said as for any request."""
    create_owner(tmp_path)
    tls = make_tls(tmp_path / "tls")
    with running_server(tmp_path, "--tls-cert", str(tls.server_cert), "--tls-key",
                        str(tls.server_key), scheme="https", ca_file=str(tls.ca)) as server:
        trusted = ServerSession(server.url, ca_file=str(tls.ca))
        untrusted = ServerSession(server.url)
        try:
            await trusted.login("olga", PASSWORD)
            made = await trusted.request("POST", "/targets", json={
                "name": "here", "kind": "local", "docker_socket": docker_engine.host})
            target_id = uuid.UUID(made["id"])
            session = await RemoteTerminal(trusted).open(NOBODY, target_id, container)
            try:
                await session.write(b"echo sec''ure\r")
                await Screen(session).until("secure")
            finally:
                await session.close()
            untrusted.access_token = trusted.access_token
            with pytest.raises(ServerUnreachableError) as refused:
                await RemoteTerminal(untrusted).open(NOBODY, target_id, container)
            assert refused.value.code == "TLS_UNTRUSTED"
        finally:
            await trusted.close()
            await untrusted.close()
    down = ServerSession("http://127.0.0.1:9")
    down.access_token = "whatever"
    try:
        with pytest.raises(ServerUnreachableError, match="is the server running"):
            await RemoteTerminal(down).open(NOBODY, uuid.uuid4(), container)
    finally:
        await down.close()

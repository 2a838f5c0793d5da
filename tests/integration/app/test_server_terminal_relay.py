"""The terminal socket's relay (``server/routes/terminal.py``) in the app, over a shell
that is a stand-in (its bytes echoed back): what the desktop sends reaches the shell
in order, resizes too; the shell's end is an ``exit`` message then a normal close; the
desktop's close ends the shell; a message over the bound ends the socket (1009), a
malformed control message too (1008); a refusal is the handshake's HTTP answer with the
error body. (test_remote_terminal.py runs it through ``windflow serve`` to a real
engine.)"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.websockets import WebSocketDisconnect

from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.server import errors
from windflow_desktop.server.routes import terminal
from windflow_desktop.server.routes.terminal import MAX_MESSAGE_BYTES

with warnings.catch_warnings():  # (it would rather have httpx2, which is not installed)
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient, WebSocketDenialResponse

TARGET = uuid.uuid4()
ORG = uuid.uuid4()


class Shell:
    """Echoes what it is sent; ``exit\\r`` ends it with 7."""

    def __init__(self) -> None:
        self.output: asyncio.Queue[bytes] = asyncio.Queue()
        self.written: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []
        self.closed = 0
        self.exit_code: int | None = None

    async def read(self) -> bytes:
        return await self.output.get()

    async def write(self, data: bytes) -> None:
        self.written.append(data)
        if data == b"exit\r":
            self.exit_code = 7
            self.output.put_nowait(b"")
        else:
            self.output.put_nowait(data)

    async def resize(self, cols: int, rows: int) -> None:
        self.sizes.append((cols, rows))

    async def close(self) -> None:
        self.closed += 1
        self.output.put_nowait(b"")


class Terminals:
    def __init__(self) -> None:
        self.shells: list[Shell] = []
        self.opened: list[tuple[Any, ...]] = []

    async def open(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   shell: str = "sh", *, cols: int = 80, rows: int = 24) -> Shell:
        if principal.role is Role.VIEWER:
            raise PermissionDeniedError("you are viewer (permission containers:exec)")
        if shell not in ("sh", "bash"):
            raise ValidationError("choose a shell among sh, bash", field="shell")
        self.opened.append((principal.role, target_id, container_id, shell, cols, rows))
        self.shells.append(Shell())
        return self.shells[-1]


class Principals:
    async def principal(self, services: Any, token: str) -> Principal:
        roles = {"op": Role.OPERATOR, "viewer": Role.VIEWER}
        if token not in roles:
            raise AuthenticationError("that token is not known here", code="TOKEN_INVALID")
        return Principal(uuid.uuid4(), ORG, roles[token])


@pytest.fixture
def app() -> tuple[TestClient, Terminals]:
    terminals = Terminals()
    app = FastAPI()
    errors.install(app)
    app.include_router(terminal.router, prefix="/api/v1")
    app.state.workspace = SimpleNamespace(services=SimpleNamespace(terminal=terminals))
    app.state.principals = Principals()
    return TestClient(app), terminals


def _path(shell: str = "sh") -> str:
    return f"/api/v1/targets/{TARGET}/containers/web-1/terminal?shell={shell}&cols=90&rows=30"


def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "it did not happen in time"
        time.sleep(0.01)


def test_bytes_both_ways_resize_and_the_shells_exit(app: tuple[TestClient, Terminals]
                                                    ) -> None:
    client, terminals = app
    with client.websocket_connect(_path(), headers={"Authorization": "Bearer op"}) as ws:
        assert terminals.opened == [(Role.OPERATOR, TARGET, "web-1", "sh", 90, 30)]
        ws.send_bytes(b"ls\r")
        assert ws.receive_bytes() == b"ls\r"
        ws.send_text(json.dumps({"type": "resize", "cols": 120, "rows": 40}))
        ws.send_text(json.dumps({"type": "later-kind"}))  # unknown: ignored
        ws.send_bytes(b"x" * MAX_MESSAGE_BYTES)  # at the bound: still fine
        assert ws.receive_bytes() == b"x" * MAX_MESSAGE_BYTES
        ws.send_bytes(b"exit\r")
        assert json.loads(ws.receive_text()) == {"type": "exit", "code": 7}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == 1000
    [shell] = terminals.shells
    assert shell.written[0] == b"ls\r" and shell.written[-1] == b"exit\r"
    assert shell.sizes == [(120, 40)]
    _until(lambda: shell.closed >= 1)


def test_the_desktops_close_ends_the_shell(app: tuple[TestClient, Terminals]) -> None:
    client, terminals = app
    with client.websocket_connect(_path(), headers={"Authorization": "Bearer op"}) as ws:
        ws.send_bytes(b"a")
        assert ws.receive_bytes() == b"a"
        ws.close(1000)
    [shell] = terminals.shells
    _until(lambda: shell.closed >= 1)
    assert shell.exit_code is None


@pytest.mark.parametrize(("message", "code"), [
    (b"y" * (MAX_MESSAGE_BYTES + 1), 1009),
    ("not json", 1008),
    (json.dumps({"type": "resize", "cols": "wide", "rows": 3}), 1008),
])
def test_a_bad_message_ends_the_socket_and_the_shell(
        app: tuple[TestClient, Terminals], message: bytes | str, code: int) -> None:
    client, terminals = app
    with client.websocket_connect(_path(), headers={"Authorization": "Bearer op"}) as ws:
        if isinstance(message, bytes):
            ws.send_bytes(message)
        else:
            ws.send_text(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == code
    _until(lambda: terminals.shells[0].closed >= 1)
    assert terminals.shells[0].written == []


@pytest.mark.parametrize(("token", "shell", "status", "error"), [
    (None, "sh", 401, "NOT_SIGNED_IN"),
    ("stolen", "sh", 401, "TOKEN_INVALID"),
    ("viewer", "sh", 403, "PERMISSION_DENIED"),
    ("op", "python", 422, "VALIDATION_ERROR"),
])
def test_a_refusal_is_the_handshakes_answer(app: tuple[TestClient, Terminals],
                                            token: str | None, shell: str, status: int,
                                            error: str) -> None:
    client, terminals = app
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with (pytest.raises(WebSocketDenialResponse) as refused,
          client.websocket_connect(_path(shell), headers=headers)):
        pass
    answer = refused.value
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    if shell != "sh":
        assert answer.json()["details"] == {"field": "shell"}
    assert terminals.shells == []

"""``RemoteTerminal``: a shell in a container through a WindFlow server (``TerminalApi``
over the server's WebSocket ``/targets/{id}/containers/{ref}/terminal`` — see
``server/routes/terminal.py`` for the protocol: binary frames are the terminal's bytes,
text frames JSON control messages).

The socket is the ``websockets`` library's asyncio client, with the session's trust (its
CA file, else the defaults httpx uses) and its current access token in the handshake's
``Authorization`` header: refreshed first when it is about to expire, and once more when
the handshake is answered 401 (as ``ServerSession``'s requests are). A refused handshake
is the domain error of its answer (a viewer: ``PermissionDeniedError``; an unknown
target or container: ``NotFoundError``; a bad shell: ``ValidationError``), a server that
cannot be reached ``ServerUnreachableError`` — the same as any other request.

``websockets`` is imported when a terminal opens, not with the module: a desktop signed
in to a server starts without it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import ssl
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import httpx

from ..domain.errors import AuthenticationError, WindFlowError
from ..domain.identity import Principal
from ..domain.terminal import TerminalSession
from .client import ServerSession
from .errors import from_response, from_transport

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

log = logging.getLogger("windflow.remote.terminal")

MAX_MESSAGE_BYTES = 64 << 10  # the server's bound on one message (a paste goes in pieces)
MAX_RECEIVED_BYTES = 1 << 20
OPEN_TIMEOUT_S = 30.0  # the server opens the shell (and audits it) before it answers
REFRESH_AHEAD_S = 30.0  # an access token this close to its end is refreshed first


class RemoteShell:
    """One shell through the server's socket: a ``TerminalSession``."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ended = False
        self.exit_code: int | None = None
        self.error: str | None = None  # what the server last said went wrong, if anything

    async def read(self) -> bytes:
        from websockets.exceptions import ConnectionClosed

        while not self._ended:
            try:
                message = await self._socket.recv()
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code not in (1000, 1001):
                    log.info("the terminal socket closed: %s", exc)
                self._ended = True
                break
            if isinstance(message, bytes):
                return message
            self._control(message)
        return b""

    def _control(self, text: str) -> None:
        try:
            message: Any = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "exit":
            code = message.get("code")
            self.exit_code = code if isinstance(code, int) else None
        elif message.get("type") == "error":
            self.error = str(message.get("message") or message.get("error") or "")
            log.info("the server says of the terminal: %s", self.error)

    async def write(self, data: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):  # the shell ended: read() says so
            for start in range(0, len(data), MAX_MESSAGE_BYTES):
                await self._socket.send(data[start:start + MAX_MESSAGE_BYTES])

    async def resize(self, cols: int, rows: int) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            await self._socket.send(json.dumps({"type": "resize", "cols": cols,
                                                "rows": rows}))

    async def close(self) -> None:
        self._ended = True
        with contextlib.suppress(Exception):
            await self._socket.close()


class RemoteTerminal:
    available = True

    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def open(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   shell: str = "sh", *, cols: int = 80, rows: int = 24) -> TerminalSession:
        """The shell, once the server runs it (and has audited it)."""
        from websockets.exceptions import InvalidStatus

        url = self._address(target_id, container_id, shell, cols, rows)
        token = await self._fresh_token()
        try:
            return RemoteShell(await self._connect(url, token))
        except InvalidStatus as exc:
            if exc.response.status_code != 401 or not self.session.can_refresh:
                raise _refused(exc) from None
        await self.session.refresh(stale=token)  # as a request's 401 does: once
        try:
            return RemoteShell(await self._connect(url, await self._fresh_token()))
        except InvalidStatus as exc:
            raise _refused(exc) from None

    def _address(self, target_id: uuid.UUID, container_id: str, shell: str, cols: int,
                 rows: int) -> str:
        base = httpx.URL(self.session.url)
        scheme = "wss" if base.scheme == "https" else "ws"
        query = urlencode({"shell": shell, "cols": cols, "rows": rows})
        path = (f"/api/v1/targets/{target_id}/containers/{quote(container_id, safe='')}"
                f"/terminal")
        return f"{scheme}://{base.netloc.decode('ascii')}{base.path.rstrip('/')}{path}?{query}"

    async def _fresh_token(self) -> str:
        token = self.session.access_token
        if token is None:
            raise AuthenticationError("sign in first: this needs a bearer access token",
                                      code="NOT_SIGNED_IN")
        expires = _expiry(token)
        if (expires is not None and expires - time.time() < REFRESH_AHEAD_S
                and self.session.can_refresh):
            await self.session.refresh(stale=token)
            token = self.session.access_token or token
        return token

    async def _connect(self, url: str, token: str) -> ClientConnection:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        try:
            return await connect(
                url, additional_headers={"Authorization": f"Bearer {token}"},
                ssl=self._tls() if url.startswith("wss:") else None,
                # Typed input and secret output never share a compression context
                # (CRIME-like guessing), and a keypress is not worth deflating.
                compression=None, open_timeout=OPEN_TIMEOUT_S,
                max_size=MAX_RECEIVED_BYTES, user_agent_header="WindFlow Desktop")
        except (InvalidStatus, WindFlowError):
            raise
        except Exception as exc:  # refused, reset, timed out, TLS, a bad handshake
            wrapped = httpx.ConnectError(f"{type(exc).__name__}: {exc}")
            wrapped.__cause__ = exc
            raise from_transport(wrapped, self.session.url) from exc

    def _tls(self) -> ssl.SSLContext:
        """The trust the session's requests have: its CA file alone, else httpx's."""
        if self.session.ca_file:
            return ssl.create_default_context(cafile=self.session.ca_file)
        return httpx.create_ssl_context()


def _refused(exc: Any) -> WindFlowError:
    """A handshake answered with an error: the domain error of its body."""
    answer = exc.response
    return from_response(httpx.Response(answer.status_code, content=bytes(answer.body or b"")))


def _expiry(token: str) -> float | None:
    """When a session token (a JWT) ends, read without checking it (the server does);
    None for a personal access token or anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(payload["exp"])
    except (ValueError, KeyError, TypeError):
        return None


if TYPE_CHECKING:
    from ..services.protocols import TerminalApi

    _remote: type[TerminalApi] = RemoteTerminal
    _session: type[TerminalSession] = RemoteShell

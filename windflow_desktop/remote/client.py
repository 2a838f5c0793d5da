"""``ServerSession``: the desktop's one connection to a WindFlow server.

Every request carries the access token (``BearerAuth``); a 401 triggers one refresh and
one retry, and concurrent requests that hit the same 401 wait for that same refresh
(single-flight). The refresh token is kept by a ``TokenKeeper`` (the OS keyring, per
server and user) so the next start signs in silently; a personal access token (CI, the
``--smoke`` check) has no refresh. Idempotent requests are retried on a dropped
connection; none is retried on an answer. Every error is a domain error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Protocol

import httpx

from ..domain.errors import AuthenticationError
from .errors import from_response, from_transport

log = logging.getLogger("windflow.remote")
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
RETRIES = 2
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@contextlib.asynccontextmanager
async def response_lines(response: httpx.Response) -> AsyncIterator[AsyncIterator[str]]:
    """The lines of a streamed answer, their iterator closed here, in this task: left to
    the collector it is finalised in another task, which anyio refuses (an unraisable
    error, and a connection not given back)."""
    lines = response.aiter_lines()
    try:
        yield lines
    finally:
        await lines.aclose()  # type: ignore[attr-defined]


class SecretStore(Protocol):
    async def aget(self, name: str) -> str | None: ...
    async def aset(self, name: str, value: str) -> None: ...
    async def adelete(self, name: str) -> None: ...


class TokenKeeper:
    """A server's refresh token for one user, in the secret store (never in a file)."""

    def __init__(self, secrets: SecretStore, server: str, username: str) -> None:
        self._secrets = secrets
        self._host = httpx.URL(server).host
        self.username = username
        self.name = ""
        self.use_user(username)

    def use_user(self, username: str) -> None:
        """Keep the token of ``username`` from now on (who signs in decides)."""
        self.username = username
        self.name = f"server/{self._host}/{username}/refresh"

    async def load(self) -> str | None:
        return await self._secrets.aget(self.name)

    async def keep(self, token: str) -> None:
        await self._secrets.aset(self.name, token)

    async def forget(self) -> None:
        await self._secrets.adelete(self.name)


class BearerAuth(httpx.Auth):
    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        sent = self._session.access_token
        if sent:
            request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code == 401 and sent and self._session.can_refresh:
            await self._session.refresh(stale=sent)
            request.headers["Authorization"] = f"Bearer {self._session.access_token}"
            yield request


class ServerSession:
    def __init__(self, url: str, *, ca_file: str | None = None,
                 keeper: TokenKeeper | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.ca_file = ca_file  # (also for the container terminal's WebSocket)
        self.keeper = keeper
        self.access_token: str | None = None
        self._refresh_token: str | None = None
        self._refreshing = asyncio.Lock()
        self.refreshes = 0  # how many refreshes this session made (for the record)
        # A custom CA trusted on top of nothing else: the server's own, as given.
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=ca_file)
                                         if ca_file else True)
        self._http = httpx.AsyncClient(base_url=f"{self.url}/api/v1", timeout=TIMEOUT,
                                       verify=verify, transport=transport,
                                       auth=BearerAuth(self))

    @property
    def can_refresh(self) -> bool:
        return self._refresh_token is not None

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    async def use_tokens(self, access_token: str, refresh_token: str) -> None:
        """Tokens the server gave in another answer (a password change)."""
        self.access_token, self._refresh_token = access_token, refresh_token
        if self.keeper is not None:
            await self.keeper.keep(refresh_token)

    # -- signing in ------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> dict[str, Any]:
        tokens = await self._tokens("/auth/login",
                                    {"username": username, "password": password})
        return await self.me() if tokens else {}

    async def sign_in_with_token(self, token: str) -> dict[str, Any]:
        """A personal access token: no refresh; when it ends, signing in again is due."""
        self.access_token, self._refresh_token = token, None
        return await self.me()

    async def restore(self) -> dict[str, Any] | None:
        """Sign in silently with the kept refresh token; None when there is none (or the
        server refused it: it is then forgotten)."""
        if self.keeper is None or (kept := await self.keeper.load()) is None:
            return None
        self._refresh_token = kept
        try:
            await self.refresh(stale=None)
        except AuthenticationError:
            return None
        return await self.me()

    async def me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/auth/me")
        return result

    async def refresh(self, *, stale: str | None,
                      organization_id: str | None = None) -> None:
        """One refresh for everyone: a caller whose token was already replaced while it
        waited returns at once. A refused refresh ends the session (SESSION_ENDED)."""
        async with self._refreshing:
            if stale is not None and self.access_token != stale and organization_id is None:
                return
            token = self._refresh_token
            if token is None:
                raise AuthenticationError("signed out: sign in again", code="SESSION_ENDED")
            body: dict[str, Any] = {"refresh_token": token}
            if organization_id is not None:
                body["organization_id"] = organization_id
            try:
                await self._tokens("/auth/refresh", body)
            except AuthenticationError as exc:
                self.access_token = self._refresh_token = None
                if self.keeper is not None:
                    await self.keeper.forget()
                raise AuthenticationError(f"your session on {self.url} has ended "
                                          f"({exc.message}): sign in again",
                                          code="SESSION_ENDED") from exc
            self.refreshes += 1

    async def _tokens(self, path: str, body: dict[str, Any]) -> bool:
        answer = await self._send("POST", path, json=body, auth=False)
        self.access_token = answer["access_token"]
        self._refresh_token = answer["refresh_token"]
        if self.keeper is not None:
            await self.keeper.keep(answer["refresh_token"])
        return True

    async def logout(self) -> None:
        if self._refresh_token is not None:
            try:
                await self._send("POST", "/auth/logout",
                                 json={"refresh_token": self._refresh_token}, auth=False)
            finally:
                self.access_token = self._refresh_token = None
                if self.keeper is not None:
                    await self.keeper.forget()

    # -- requests --------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, json: Any = None,
                      params: dict[str, Any] | None = None) -> Any:
        return await self._send(method, path, json=json, params=params)

    async def _send(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, Any] | None = None, auth: bool = True) -> Any:
        attempts = RETRIES + 1 if method in IDEMPOTENT else 1
        for attempt in range(attempts):
            try:
                response = await self._http.request(
                    method, path, json=json, params=params,
                    auth=httpx.USE_CLIENT_DEFAULT if auth else None)
                break
            except httpx.TransportError as exc:
                if attempt + 1 == attempts:
                    raise from_transport(exc, self.url) from exc
                await asyncio.sleep(0.2 * 2 ** attempt)
        if response.status_code >= 400:
            raise from_response(response)
        return None if response.status_code == 204 else response.json()

    @property
    def http(self) -> httpx.AsyncClient:
        """The client (with the auth flow) for a stream the caller reads itself."""
        return self._http

    async def close(self) -> None:
        await self._http.aclose()

"""What a route needs: the services, and the principal of the bearer token (checked
against the database, remembered for a few seconds; every service call checks it again
in its own transaction: a disabled account or an ended session is refused)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from ..domain.errors import AuthenticationError
from ..domain.identity import Principal
from ..domain.paging import MAX_PAGE_SIZE
from .principals import PrincipalCache

_bearer = HTTPBearer(auto_error=False)


def _services(connection: HTTPConnection) -> Any:
    return connection.app.state.workspace.services


async def services(request: Request) -> Any:
    """(``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a thread
    hop on every request.)"""
    return _services(request)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _not_signed_in()
    return await _principal_of(request, credentials.credentials)


async def connection_principal(connection: HTTPConnection) -> Principal:
    """The principal of a connection's ``Authorization: Bearer`` header, for a route
    FastAPI's security dependencies do not serve (a WebSocket's handshake): the same
    check as ``principal``."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _not_signed_in()
    return await _principal_of(connection, token.strip())


async def _principal_of(connection: HTTPConnection, token: str) -> Principal:
    cache: PrincipalCache = connection.app.state.principals
    return await cache.principal(_services(connection), token)


def _not_signed_in() -> AuthenticationError:
    return AuthenticationError("sign in first: this needs a bearer access token",
                               code="NOT_SIGNED_IN")


Services = Annotated[Any, Depends(services)]
Caller = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=512)]
Search = Annotated[str | None, Query(max_length=200)]  # a PageRequest's text search

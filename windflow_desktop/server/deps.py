"""What a route needs: the services, and the principal of the bearer token (checked
against the database, remembered for a few seconds; every service call checks it again
in its own transaction: a disabled account or an ended session is refused)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..domain.errors import AuthenticationError
from ..domain.identity import Principal
from ..domain.paging import MAX_PAGE_SIZE
from .principals import PrincipalCache

_bearer = HTTPBearer(auto_error=False)


def _services(request: Request) -> Any:
    return request.app.state.workspace.services


async def services(request: Request) -> Any:
    """(``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a thread
    hop on every request.)"""
    return _services(request)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("sign in first: this needs a bearer access token",
                                  code="NOT_SIGNED_IN")
    cache: PrincipalCache = request.app.state.principals
    return await cache.principal(_services(request), credentials.credentials)


Services = Annotated[Any, Depends(services)]
Caller = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=512)]
Search = Annotated[str | None, Query(max_length=200)]  # a PageRequest's text search

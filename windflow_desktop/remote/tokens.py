"""The signed-in user's personal access tokens on a WindFlow server (for CI and
scripts; the Settings → Access tokens page): make one (its text is answered once and
never again), list them (with when each was last used), revoke one.

``RemoteAccessTokens`` has the local ``AccessTokenService``'s shape
(``services/protocols.py`` ``AccessTokensApi``), so a page can be built over either:
the ``principal`` is accepted and not sent (the server acts for the token's caller).
A record comes back as the domain's ``AccessToken`` with a blank ``token_hash`` — the
hash never leaves the server."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..domain.identity import AccessToken, Principal
from .client import ServerSession
from .decode import decode


def _record(data: dict[str, Any]) -> AccessToken:
    fields = {k: v for k, v in data.items() if k != "token"}
    return decode(AccessToken, {**fields, "token_hash": ""})


class RemoteAccessTokens:
    """``AccessTokensApi`` over ``/auth/tokens``."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def create(self, principal: Principal, name: str, expires_in_days: int,
                     scopes: Iterable[str] | None = None) -> tuple[AccessToken, str]:
        """The new token's record and its text, which the server shows this once."""
        body: dict[str, Any] = {"name": name, "expires_in_days": expires_in_days}
        if scopes is not None:
            body["scopes"] = sorted(set(scopes))
        data = await self._session.request("POST", "/auth/tokens", json=body)
        return _record(data), str(data["token"])

    async def list(self, principal: Principal) -> Sequence[AccessToken]:
        """The user's tokens that are not revoked, oldest first (expired ones included)."""
        return tuple(_record(d) for d in await self._session.request("GET", "/auth/tokens"))

    async def revoke(self, principal: Principal, token_id: uuid.UUID) -> None:
        await self._session.request("DELETE", f"/auth/tokens/{token_id}")


if TYPE_CHECKING:
    from ..services.protocols import AccessTokensApi

    _remote: type[AccessTokensApi] = RemoteAccessTokens

"""``RemoteAuth``: signing in to a WindFlow server — the ``AuthApi`` of the desktop's
session store over ``ServerSession``.

The server made its first owner (``windflow create-owner``), so there is no set-up here.
The refresh token is kept by the session's ``TokenKeeper`` (the OS keyring, per server
and user): a restart signs in silently. Tokens are the server's: this desktop reads their
claims (expiry, organization) but cannot and need not check their signature.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import jwt

from ..domain.errors import ValidationError
from ..domain.identity import AuthSession, Principal, TokenClaims, TokenPair, TokenType
from ..domain.models import Membership, Organization, User
from .client import ServerSession
from .decode import decode

NO_SETUP = ("a server's first owner is made on the server with `windflow create-owner`; "
            "ask its administrator for an account")


class RemoteAuth:
    def __init__(self, session: ServerSession) -> None:
        self.session = session
        self._current: AuthSession | None = None

    async def needs_setup(self) -> bool:
        return False

    async def setup(self, *, username: str, email: str, password: str,
                    organization_name: str, full_name: str = "") -> AuthSession:
        raise ValidationError(NO_SETUP)

    async def login(self, login: str, password: str, *,
                    organization_id: uuid.UUID | None = None,
                    source: str | None = None) -> AuthSession:
        if self.session.keeper is not None:
            self.session.keeper.use_user(login)
        await self.session.login(login, password)
        if organization_id is not None:
            await self.session.refresh(stale=None, organization_id=str(organization_id))
        return await self._signed_in()

    async def sign_in_with_token(self, token: str) -> AuthSession:
        """A personal access token (CI, ``--smoke``): no refresh, nothing kept."""
        await self.session.sign_in_with_token(token)
        return await self._signed_in()

    async def refresh(self, refresh_token: str, *,
                      organization_id: uuid.UUID | None = None) -> AuthSession:
        await self.session.refresh(
            stale=None, organization_id=str(organization_id) if organization_id else None)
        return await self._signed_in()

    async def switch_organization(self, refresh_token: str,
                                  organization_id: uuid.UUID) -> AuthSession:
        return await self.refresh(refresh_token, organization_id=organization_id)

    async def logout(self, refresh_token: str) -> None:
        self._current = None
        await self.session.logout()

    async def change_password(self, principal: Principal, current_password: str,
                              new_password: str) -> AuthSession:
        answer = await self.session.request("POST", "/auth/password", json={
            "current_password": current_password, "new_password": new_password})
        await self.session.use_tokens(answer["access_token"], answer["refresh_token"])
        return await self._signed_in()

    async def confirm_password(self, principal: Principal, password: str) -> None:
        await self.session.request("POST", "/auth/confirm-password",
                                   json={"password": password})

    async def remember(self, session: AuthSession) -> None:
        """Nothing to do: the session's keeper holds the refresh token already."""

    async def restore_remembered(self) -> AuthSession | None:
        if await self.session.restore() is None:
            return None
        return await self._signed_in()

    async def has_remembered(self, refresh_token: str | None = None) -> bool:
        keeper = self.session.keeper
        return keeper is not None and await keeper.load() is not None

    async def shared_database_warning(self, principal: Principal) -> str | None:
        return None  # the server is what stands between people and the database

    async def memberships(self, principal: Principal) -> Sequence[Membership]:
        return (await self._signed_in()).memberships

    async def _signed_in(self) -> AuthSession:
        me = await self.session.me()
        user: User = decode(User, {"password_hash": "", **me["user"]})
        role = me.get("role")
        principal: Principal = decode(Principal, {
            "user_id": me["user"]["id"], "organization_id": me.get("organization_id"),
            "role": role, "is_superuser": me.get("is_superuser", False)})
        organization = (decode(Organization, me["organization"])
                        if me.get("organization") else None)
        memberships: tuple[Membership, ...] = decode(tuple[Membership, ...],
                                                     me.get("memberships") or [])
        self._current = AuthSession(user, principal, organization, memberships,
                                    _pair(self.session.access_token or "",
                                          self.session.refresh_token or ""))
        return self._current


def _pair(access_token: str, refresh_token: str) -> TokenPair:
    return TokenPair(access_token, refresh_token, _claims(access_token, TokenType.ACCESS),
                     _claims(refresh_token, TokenType.REFRESH))


def _claims(token: str, kind: TokenType) -> TokenClaims:
    """What the token says about itself (unverified: the server checks it); a token that
    is not a JWT (a personal access token) has no expiry this desktop knows of."""
    try:
        raw: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return TokenClaims(kind, uuid.UUID(raw["sub"]),
                           uuid.UUID(raw["org"]) if raw.get("org") else None,
                           str(raw.get("jti", "")),
                           datetime.fromtimestamp(raw["iat"], UTC),
                           datetime.fromtimestamp(raw["exp"], UTC))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        now = datetime.now(UTC)
        return TokenClaims(kind, uuid.UUID(int=0), None, "", now, now.replace(year=9999))

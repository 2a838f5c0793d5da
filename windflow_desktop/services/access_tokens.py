"""Personal access tokens, for CI and scripts: ``wf_pat_<random>_<checksum>``, shown once,
only a hash stored; each belongs to one person in one organization, expires, and may
carry scopes that narrow (never widen) the person's role. It authenticates like an access
token, and is refused from the next call on once revoked (``users.standing`` checks it
like a session)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
import zlib
from collections.abc import Iterable, Sequence
from datetime import timedelta

from ..domain.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ..domain.identity import AccessToken, Principal
from ..domain.permissions import ALL_PERMISSIONS, ORG_READ
from .common import ServiceContext

PREFIX = "wf_pat_"
MAX_DAYS = 365
USE_WRITE_EVERY = timedelta(minutes=1)  # last_used_at: one write a minute at most


def is_access_token(token: str) -> bool:
    return token.startswith(PREFIX)


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode()):08x}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    body = secrets.token_urlsafe(30)
    return f"{PREFIX}{body}_{_checksum(body)}"


def well_formed(token: str) -> bool:
    """The checksum lets a typo or a truncated paste be told apart without a lookup."""
    body, _, checksum = token[len(PREFIX):].rpartition("_")
    return bool(body) and _checksum(body) == checksum


class AccessTokenService:
    """``create(p, name, expires_in_days, scopes=None) -> (AccessToken, token)``,
    ``list(p)``, ``revoke(p, token_id)``, ``authenticate(token) -> Principal``."""

    def __init__(self, context: ServiceContext) -> None:
        self.ctx = context

    async def create(self, principal: Principal, name: str, expires_in_days: int,
                     scopes: Iterable[str] | None = None) -> tuple[AccessToken, str]:
        if principal.scopes is not None:
            raise PermissionDeniedError("a token cannot make tokens: sign in as yourself")
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise ValidationError("give the token a name (up to 100 characters)",
                                  field="name")
        if not 1 <= expires_in_days <= MAX_DAYS:
            raise ValidationError(f"a token lasts 1 to {MAX_DAYS} days",
                                  field="expires_in_days")
        chosen = None if scopes is None else sorted(set(scopes))
        unknown = sorted(set(chosen or ()) - ALL_PERMISSIONS)
        if unknown:
            raise ValidationError(f"unknown scopes: {', '.join(unknown)}", field="scopes")
        token = new_token()
        async with self.ctx.authorized(principal, ORG_READ) as scope:
            now = self.ctx.clock()
            record = await scope.uow.access_tokens.add(AccessToken(
                user_id=principal.user_id, organization_id=scope.org, name=name,
                prefix=token[:len(PREFIX) + 6], token_hash=_hash(token),
                expires_at=now + timedelta(days=expires_in_days), scopes=chosen,
                created_at=now))
            scope.record("user.access_token_created", "user", principal.user_id,
                         {"name": name, "pat_id": str(record.id), "scopes": chosen})
        return record, token

    async def list(self, principal: Principal) -> Sequence[AccessToken]:
        async with self.ctx.authorized(principal, ORG_READ) as scope:
            return await scope.uow.access_tokens.of_user(principal.user_id)

    async def revoke(self, principal: Principal, token_id: uuid.UUID) -> None:
        async with self.ctx.authorized(principal, ORG_READ) as scope:
            record = await scope.uow.access_tokens.get(token_id)
            if record.user_id != principal.user_id or record.revoked_at is not None:
                raise NotFoundError("access token", token_id)
            record.revoked_at = self.ctx.clock()
            await scope.uow.access_tokens.save(record)
            scope.record("user.access_token_revoked", "user", principal.user_id,
                         {"name": record.name, "pat_id": str(record.id)})

    async def authenticate(self, token: str) -> Principal:
        refused = AuthenticationError("this access token is not valid (revoked, expired or "
                                      "mistyped): make a new one", code="TOKEN_INVALID")
        if not well_formed(token):
            raise refused
        async with self.ctx.backend.unit_of_work() as uow:
            record = await uow.access_tokens.by_hash(_hash(token))
            now = self.ctx.clock()
            if record is None or record.revoked_at is not None or record.expires_at <= now:
                raise refused
            standing = await uow.users.standing(record.user_id, record.organization_id,
                                                record.id)
            if standing is None or not standing.user.is_active or standing.role is None:
                raise refused
            if record.last_used_at is None or now - record.last_used_at > USE_WRITE_EVERY:
                record.last_used_at = now
                await uow.access_tokens.save(record)
                await uow.commit()
        scopes = frozenset(record.scopes) if record.scopes is not None else ALL_PERMISSIONS
        return Principal(record.user_id, record.organization_id, standing.role,
                         standing.user.is_superuser, record.id, scopes)

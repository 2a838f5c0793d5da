"""Signed session tokens (pyjwt, HS256): a 15-minute access token and a 7-day refresh token.

Each token carries ``type`` (access | refresh), ``sub`` (user id), ``org`` (organization
id or null), ``sid`` (the sign-in session, i.e. the refresh-token family, or null),
``jti`` (unique id), ``iat`` and ``exp``. Verification turns every problem
(expired, tampered, signed with another key, wrong type, malformed) into
``AuthenticationError``. Rotation, reuse detection and revocation need storage and live
in ``services/auth.py``; this module only signs and checks.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ..domain.errors import AuthenticationError
from ..domain.identity import TokenClaims, TokenPair, TokenType
from ..domain.models import utcnow

ALGORITHM = "HS256"
ISSUER = "windflow-desktop"
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=7)
KEY_BYTES = 32

Clock = Callable[[], datetime]


def generate_signing_key() -> str:
    """A new random signing key as URL-safe text (32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class TokenIssuer:
    """Signs and verifies tokens with one workspace key; ``clock`` is injectable for tests."""

    def __init__(
        self,
        key: str | bytes,
        *,
        clock: Clock = utcnow,
        access_ttl: timedelta = ACCESS_TTL,
        refresh_ttl: timedelta = REFRESH_TTL,
        issuer: str = ISSUER,
    ) -> None:
        raw = key.encode() if isinstance(key, str) else key
        if len(raw) < KEY_BYTES:
            raise ValueError(f"the signing key must have at least {KEY_BYTES} bytes")
        self._key = raw
        self._clock = clock
        self._ttl = {TokenType.ACCESS: access_ttl, TokenType.REFRESH: refresh_ttl}
        self._issuer = issuer

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self._issuer!r})"

    def issue(
        self,
        token_type: TokenType,
        user_id: uuid.UUID,
        organization_id: uuid.UUID | None,
        session_id: uuid.UUID | None = None,
    ) -> tuple[str, TokenClaims]:
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        claims = TokenClaims(
            type=token_type,
            sub=user_id,
            org=organization_id,
            jti=uuid.uuid4().hex,
            iat=now,
            exp=now + self._ttl[token_type],
            sid=session_id,
        )
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "type": claims.type.value,
            "sub": str(claims.sub),
            "org": str(claims.org) if claims.org is not None else None,
            "sid": str(claims.sid) if claims.sid is not None else None,
            "jti": claims.jti,
            "iat": int(claims.iat.timestamp()),
            "exp": int(claims.exp.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def issue_pair(
        self,
        user_id: uuid.UUID,
        organization_id: uuid.UUID | None,
        session_id: uuid.UUID | None = None,
    ) -> TokenPair:
        access_token, access = self.issue(TokenType.ACCESS, user_id, organization_id,
                                          session_id)
        refresh_token, refresh = self.issue(TokenType.REFRESH, user_id, organization_id,
                                            session_id)
        return TokenPair(access_token, refresh_token, access, refresh)

    def verify(self, token: str, expected: TokenType) -> TokenClaims:
        """The claims of a valid token of type ``expected``, else ``AuthenticationError``."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                # Expiry is checked below against the injectable clock.
                options={
                    "require": ["type", "sub", "jti", "iat", "exp", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise AuthenticationError(
                "the session token has an invalid signature; please sign in again",
                code="TOKEN_INVALID",
            ) from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(
                "the session token is not valid; please sign in again", code="TOKEN_INVALID"
            ) from exc
        claims = _claims(payload)
        if claims.type is not expected:
            raise AuthenticationError(
                f"a {claims.type.value} token was given where a {expected.value} token is needed",
                code="TOKEN_WRONG_TYPE",
            )
        if self._clock() >= claims.exp:
            raise AuthenticationError(
                "the session has expired; please sign in again", code="TOKEN_EXPIRED"
            )
        return claims


def _claims(payload: dict[str, Any]) -> TokenClaims:
    try:
        org, sid = payload.get("org"), payload.get("sid")
        return TokenClaims(
            type=TokenType(payload["type"]),
            sub=uuid.UUID(str(payload["sub"])),
            org=uuid.UUID(str(org)) if org else None,
            jti=str(payload["jti"]),
            iat=datetime.fromtimestamp(int(payload["iat"]), UTC),
            exp=datetime.fromtimestamp(int(payload["exp"]), UTC),
            sid=uuid.UUID(str(sid)) if sid else None,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise AuthenticationError(
            "the session token is not valid; please sign in again", code="TOKEN_INVALID"
        ) from exc

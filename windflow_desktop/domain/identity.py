"""Who is acting, and the records that keep sign-in sessions honest.

``Principal`` is the acting identity every service method takes: the user, the
organization they act in, their role there and whether they are a superuser. The
records below hold no secret: a refresh token is known by its ``jti`` only, and a login
throttle by a key that names a user id or a digest of the typed login.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .enums import Role
from .errors import ValidationError
from .models import Membership, Organization, User, utcnow

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def check_password_policy(password: str, field: str = "password") -> None:
    """Raise ``ValidationError`` for a password too short or too long (never echoing it)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field=field
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters", field=field
        )
    if not password.strip():
        raise ValidationError("the password cannot be only spaces", field=field)



@dataclass(frozen=True)
class Principal:
    """The acting user in one organization (``organization_id`` is None before they join one)."""

    user_id: uuid.UUID
    organization_id: uuid.UUID | None
    role: Role | None
    is_superuser: bool = False
    # The sign-in session (refresh-token family) this principal acts for, or the personal
    # access token it came with; the services refuse it at the next call once it is
    # revoked. None: not from a session (a test).
    session_id: uuid.UUID | None = None
    # A personal access token's scopes: the permissions it may use, within the role's.
    # None: the role's permissions (a signed-in person).
    scopes: frozenset[str] | None = None


@dataclass(eq=False)
class RefreshTokenRecord:
    """One issued refresh token; a rotation marks it used and issues the next of its family."""

    jti: str
    user_id: uuid.UUID
    family_id: uuid.UUID
    organization_id: uuid.UUID | None
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(eq=False)
class LoginThrottle:
    """Failed sign-in attempts for one key (an account, or an account from one source);
    ``locked_until`` is set once the failures pass the key's threshold."""

    key: str
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None
    last_success_at: datetime | None = None


@dataclass(eq=False)
class Invitation:
    """A pending invitation of ``user_id`` into ``organization_id`` with ``role``; it
    becomes a membership only when that user accepts it."""

    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    invited_by: uuid.UUID | None
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class Member:
    """A user as seen inside one organization (``user.password_hash`` is always blank)."""

    user: User
    organization_id: uuid.UUID
    role: Role
    joined_at: datetime


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation as its invited user sees it (to accept or decline)."""

    id: uuid.UUID
    organization: Organization
    role: Role
    invited_at: datetime


@dataclass(frozen=True)
class Standing:
    """A user as the database says now: their role in one organization (None: not a
    member) and whether a sign-in session of theirs is still live."""

    user: User
    role: Role | None
    session_live: bool


@dataclass(eq=False)
class AccessToken:
    """A personal access token for automation: only its hash is stored; ``prefix`` is
    what lists show to tell tokens apart."""

    user_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    token_hash: str
    expires_at: datetime
    scopes: list[str] | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


# -- session tokens: what they carry (signing and checking them is security/tokens.py) -


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class TokenClaims:
    type: TokenType
    sub: uuid.UUID
    org: uuid.UUID | None
    jti: str
    iat: datetime
    exp: datetime
    sid: uuid.UUID | None = None


@dataclass(frozen=True)
class TokenPair:
    """An access and a refresh token; the token texts never show in ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access: TokenClaims
    refresh: TokenClaims


@dataclass(frozen=True)
class AuthSession:
    """A signed-in user in one organization; ``tokens`` never show in ``repr``."""

    user: User
    principal: Principal
    organization: Organization | None
    memberships: tuple[Membership, ...]
    tokens: TokenPair = field(repr=False)

"""Who is acting, and the records that keep sign-in sessions honest.

``Principal`` is the acting identity every service method takes: the user, the
organization they act in, their role there and whether they are a superuser. The
records below hold no secret: a refresh token is known by its ``jti`` only, and a login
throttle by a key that names a user id or a digest of the typed login.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from .enums import Role
from .models import User


@dataclass(frozen=True)
class Principal:
    """The acting user in one organization (``organization_id`` is None before they join one)."""

    user_id: uuid.UUID
    organization_id: uuid.UUID | None
    role: Role | None
    is_superuser: bool = False


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
    """Failed sign-in attempts for one key; ``locked_until`` is set from the fifth on."""

    key: str
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Member:
    """A user as seen inside one organization (``user.password_hash`` is always blank)."""

    user: User
    organization_id: uuid.UUID
    role: Role
    joined_at: datetime

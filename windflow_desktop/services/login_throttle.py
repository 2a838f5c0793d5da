"""How failed sign-ins slow down the next ones, without letting a stranger lock the owner
out for ever.

Every attempt names an account (a user id, or a keyed digest of an unknown login) and a
source (the client id of the desktop, or what a server knows of its caller). Failures
count in two buckets:

- the account *from that source*: from the fifth failure on it locks for 30 s, doubling
  up to 15 min — one source can lock only itself out;
- the account *from anywhere*: from the twentieth failure it locks for at most 2 min
  (doubling from 30 s) — many sources together get few guesses, but a source that has
  signed in to the account before is not held by it, and a new one waits little.

Counters go up in one statement each (``add_failure``), so concurrent attempts are all
counted; a success forgets its source's failures and makes the source known.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.errors import AuthenticationError, LoginLockedError
from ..repositories.protocols import UnitOfWork

LOCKOUT_THRESHOLD = 5
LOCKOUT_BASE = timedelta(seconds=30)
LOCKOUT_MAX = timedelta(minutes=15)
ACCOUNT_LOCKOUT_MAX = timedelta(minutes=2)
BAD_CREDENTIALS = "wrong username/email or password"


def bad_credentials() -> AuthenticationError:
    """The one answer to a wrong password, an unknown login and a disabled account."""
    return AuthenticationError(BAD_CREDENTIALS, code="BAD_CREDENTIALS")


def _digest(text: str, key: bytes) -> str:
    return hashlib.blake2b(text.encode(), key=key[:64], digest_size=16).hexdigest()


@dataclass(frozen=True)
class Buckets:
    """The throttle keys of one attempt: the account, and the account from one source."""

    account: str
    source: str
    known_user: bool

    @classmethod
    def of(cls, user_id: uuid.UUID | None, login: str, source: str, *, key: bytes) -> Buckets:
        account = (
            f"user:{user_id}" if user_id is not None
            else f"login:{_digest(login.strip().lower(), key)}"
        )
        return cls(account, f"{account}@{_digest(source, key)}", user_id is not None)


class LoginThrottlePolicy:
    """Checks and counts attempts against both buckets (see the module's docstring)."""

    def __init__(
        self,
        *,
        threshold: int = LOCKOUT_THRESHOLD,
        base: timedelta = LOCKOUT_BASE,
        maximum: timedelta = LOCKOUT_MAX,
        account_threshold: int | None = None,
        account_maximum: timedelta = ACCOUNT_LOCKOUT_MAX,
    ) -> None:
        self.threshold = threshold
        self.base = base
        self.maximum = maximum
        self.account_threshold = account_threshold or threshold * 4
        self.account_maximum = account_maximum

    def _lock_for(self, failures: int, threshold: int, maximum: timedelta) -> timedelta | None:
        if failures < threshold:
            return None
        doublings = min(failures - threshold, 16)
        return min(self.base * (1 << doublings), maximum)

    async def check(self, uow: UnitOfWork, buckets: Buckets, now: datetime) -> bool:
        """Raise ``LoginLockedError`` while a bucket holds this attempt; else whether the
        source is known (it signed in to the account before)."""
        source = await uow.login_throttles.get(buckets.source)
        account = await uow.login_throttles.get(buckets.account)
        known = source is not None and source.last_success_at is not None
        holds = [source.locked_until if source else None]
        if not known:
            holds.append(account.locked_until if account else None)
        until = max((h for h in holds if h is not None and h > now), default=None)
        if until is not None:
            raise LoginLockedError(math.ceil((until - now).total_seconds()))
        return known

    async def failed(
        self, uow: UnitOfWork, buckets: Buckets, now: datetime, *, known: bool
    ) -> tuple[int, timedelta | None]:
        """Count a failure in both buckets: (failures of the account, the lock that now
        holds this source, if any)."""
        mine = await uow.login_throttles.add_failure(buckets.source, now)
        everyone = await uow.login_throttles.add_failure(buckets.account, now)
        lock = self._lock_for(mine, self.threshold, self.maximum)
        if lock is not None:
            await uow.login_throttles.lock(buckets.source, now + lock)
        account_lock = self._lock_for(everyone, self.account_threshold, self.account_maximum)
        if account_lock is not None:
            await uow.login_throttles.lock(buckets.account, now + account_lock)
            if not known:
                lock = max(lock or account_lock, account_lock)
        return everyone, lock

    async def succeeded(self, uow: UnitOfWork, buckets: Buckets, now: datetime) -> None:
        """A right password: the source is known from now on and its failures are
        forgotten, as are the account's (its owner is back)."""
        await uow.login_throttles.succeeded(buckets.source, now)
        await uow.login_throttles.clear(buckets.account)

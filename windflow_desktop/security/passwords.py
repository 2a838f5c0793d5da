"""Argon2id password hashing with a rehash check when the cost parameters change.

Hashing and verifying are deliberately slow (tens to hundreds of milliseconds) and
blocking: async callers run them in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Above OWASP's Argon2id minimum (m=46 MiB, t=1, p=1). On the 2-core development machine
# a verification takes ~140 ms under load (t=3, m=64 MiB took ~450 ms, too close to the
# 500 ms ceiling of `login_ms`); `python -m tests.benchmarks login` measures it.
DEFAULT_TIME_COST = 2
DEFAULT_MEMORY_COST_KIB = 46 * 1024
DEFAULT_PARALLELISM = 1

class PasswordHasher:
    """Argon2id hashes in PHC string form (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``)."""

    def __init__(
        self,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_cost: int = DEFAULT_MEMORY_COST_KIB,
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> None:
        self._hasher = _Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False on mismatch or an unreadable hash."""
        if not password_hash:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (or another algorithm)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def burn(self, password: str) -> None:
        """Spend the time of one verification, for unknown users (no timing oracle)."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash("windflow-dummy-password")
        self.verify(self._dummy_hash, password)

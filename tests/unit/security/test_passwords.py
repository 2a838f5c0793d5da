"""Argon2id hashing: verify, mismatch, rehash check when parameters change, policy."""

from __future__ import annotations

import pytest

from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.identity import check_password_policy
from windflow_desktop.security.passwords import PasswordHasher

FAST = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}


def test_hash_is_argon2id_and_verifies() -> None:
    hasher = PasswordHasher(**FAST)
    hashed = hasher.hash("s3cret-password")
    assert hashed.startswith("$argon2id$")
    assert "s3cret-password" not in hashed
    assert hasher.verify(hashed, "s3cret-password")
    assert not hasher.verify(hashed, "s3cret-passwore")
    assert hasher.hash("s3cret-password") != hashed  # salted


def test_unreadable_or_empty_hash_never_verifies() -> None:
    hasher = PasswordHasher(**FAST)
    assert not hasher.verify("", "x")
    assert not hasher.verify("not-a-hash", "x")
    assert hasher.needs_rehash("not-a-hash")


def test_needs_rehash_when_parameters_change() -> None:
    old = PasswordHasher(**FAST)
    new = PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1)
    hashed = old.hash("pw-12345678")
    assert not old.needs_rehash(hashed)
    assert new.needs_rehash(hashed)
    assert new.verify(hashed, "pw-12345678")  # old hashes still verify


def test_default_parameters_are_argon2id_with_real_cost() -> None:
    hashed = PasswordHasher().hash("pw-12345678")
    assert hashed.startswith("$argon2id$v=19$m=47104,t=2,p=1$")


@pytest.mark.parametrize("bad", ["short", "", " " * 10, "x" * 1025])
def test_policy_rejects(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_password_policy(bad)
    assert err.value.field == "password"
    if bad.strip():
        assert bad not in err.value.message


class CountingHasher(PasswordHasher):
    """Records every verification (hash and password) and still runs it for real."""

    def __init__(self) -> None:
        super().__init__(**FAST)
        self.verified: list[tuple[str, str, bool]] = []

    def verify(self, password_hash: str, password: str) -> bool:
        result = super().verify(password_hash, password)
        self.verified.append((password_hash, password, result))
        return result


def test_burn_spends_a_verification() -> None:
    hasher = CountingHasher()
    hasher.burn("anything")
    hasher.burn("something else")
    assert [(pw, ok) for _, pw, ok in hasher.verified] == [
        ("anything", False), ("something else", False)]
    dummy = {h for h, _, _ in hasher.verified}
    assert len(dummy) == 1  # made once, then reused
    # A real Argon2id hash with the hasher's own cost: the same work as a real check.
    (made,) = dummy
    assert made.startswith("$argon2id$") and not hasher.needs_rehash(made)

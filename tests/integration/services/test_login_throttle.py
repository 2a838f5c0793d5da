"""Sign-in throttling on SQLite and PostgreSQL: failures counted exactly under
concurrency, lockout per (account, source) with a capped account-wide backoff that a
stranger cannot use to keep the owner out, a throttled ``change_password``, and one
generic answer for a disabled account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.auth import PASSWORD, Services, build_services, fast_hasher
from windflow_desktop.domain.errors import AuthenticationError, LoginLockedError
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.auth import AuthService
from windflow_desktop.services.common import ServiceContext


@pytest.fixture
async def svc(backend: SqlBackend) -> AsyncIterator[Services]:
    yield build_services(backend)


def machine(svc: Services, client_id: str, **options: object) -> AuthService:
    """Another desktop on the same workspace database, known by its client id."""
    return AuthService(ServiceContext(svc.backend, svc.bus, clock=svc.clock), svc.secrets,
                       hasher=fast_hasher(), client_id=client_id, **options)  # type: ignore[arg-type]


async def _owner(svc: Services):  # type: ignore[no-untyped-def]
    return await svc.auth.setup(username="alice", email="alice@x.test", password=PASSWORD,
                                organization_name="Acme")


async def _failures(svc: Services, key: str) -> int:
    async with svc.backend.unit_of_work() as uow:
        throttle = await uow.login_throttles.get(key)
        return throttle.failures if throttle else 0


async def test_concurrent_failures_are_all_counted(svc: Services) -> None:
    owner = await _owner(svc)
    patient = machine(svc, "desktop-a", lockout_threshold=1000)
    results = await asyncio.gather(
        *(patient.login("alice", f"wrong-{n}") for n in range(16)), return_exceptions=True
    )
    assert all(type(r) is AuthenticationError and r.code == "BAD_CREDENTIALS" for r in results)
    assert await _failures(svc, f"user:{owner.user.id}") == 16


async def test_a_stranger_cannot_lock_the_owner_out(svc: Services) -> None:
    owner = await _owner(svc)
    home, evil = machine(svc, "desktop-home"), machine(svc, "desktop-evil")
    await home.login("alice", PASSWORD)  # the owner's own machine is a known source
    # A stranger fails again and again, waiting out every lock it gets.
    locked_waits = []
    for n in range(60):
        with pytest.raises(AuthenticationError) as err:
            await evil.login("alice", f"guess-{n}")
        if isinstance(err.value, LoginLockedError):
            locked_waits.append(err.value.retry_after_s)
            svc.clock.advance(seconds=err.value.retry_after_s)
    assert locked_waits and max(locked_waits) == 900  # the stranger's own lock grows
    # The owner, from their machine, signs in at once with the right password.
    session = await home.login("alice", PASSWORD)
    assert session.user.id == owner.user.id
    # A new machine of the owner waits at most the capped account-wide backoff.
    laptop = machine(svc, "desktop-laptop")
    with pytest.raises(AuthenticationError):
        await evil.login("alice", "one more guess")
    try:
        await laptop.login("alice", PASSWORD)
    except LoginLockedError as locked:
        assert locked.retry_after_s <= 120
        svc.clock.advance(seconds=locked.retry_after_s)
        await laptop.login("alice", PASSWORD)


async def test_account_wide_backoff_holds_many_sources(svc: Services) -> None:
    await _owner(svc)
    refused = 0
    for n in range(40):  # each guess from a new source: no source ever reaches its own lock
        with pytest.raises(AuthenticationError) as err:
            await machine(svc, f"desktop-{n}").login("alice", f"guess-{n}")
        refused += isinstance(err.value, LoginLockedError)
    assert refused > 0  # the account-wide bucket held them back
    with pytest.raises(LoginLockedError):  # the right password from a stranger waits too
        await machine(svc, "desktop-x").login("alice", PASSWORD)


async def test_change_password_is_throttled(svc: Services) -> None:
    owner = await _owner(svc)
    for _ in range(4):
        with pytest.raises(AuthenticationError) as err:
            await svc.auth.change_password(owner.principal, "wrong-current", "new password 123")
        assert not isinstance(err.value, LoginLockedError)
    with pytest.raises(LoginLockedError):
        await svc.auth.change_password(owner.principal, "wrong-current", "new password 123")
    with pytest.raises(LoginLockedError):  # locked: even the right one waits
        await svc.auth.change_password(owner.principal, PASSWORD, "new password 123")
    svc.clock.advance(seconds=31)
    await svc.auth.change_password(owner.principal, PASSWORD, "new password 123")


async def test_disabled_account_gets_the_generic_answer(svc: Services) -> None:
    owner = await _owner(svc)
    bob = await svc.users.create_user(owner.principal, username="bob", email="bob@x.test",
                                      password=PASSWORD)
    await svc.users.disable_user(owner.principal, bob.user.id)
    with pytest.raises(AuthenticationError) as right:
        await svc.auth.login("bob", PASSWORD)
    with pytest.raises(AuthenticationError) as wrong:
        await svc.auth.login("bob", "not his password")
    with pytest.raises(AuthenticationError) as unknown:
        await svc.auth.login("nobody", "whatever pw")
    assert right.value.code == wrong.value.code == unknown.value.code == "BAD_CREDENTIALS"
    assert right.value.message == wrong.value.message == unknown.value.message

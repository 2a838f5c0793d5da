"""AuthService on a real database: setup, sign-in edge cases, lockout, token rotation,
reuse detection, logout, password change, and the remembered session in the keyring."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import PASSWORD, Services, build_services, fast_hasher
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import (
    AuthenticationError,
    ConflictError,
    LoginLockedError,
    PermissionDeniedError,
    SecretStoreUnavailable,
    ValidationError,
)
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.passwords import PasswordHasher
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.auth import AuthService
from windflow_desktop.services.common import ServiceContext


@pytest.fixture
async def svc(backend: SqlBackend) -> AsyncIterator[Services]:
    yield build_services(backend)


async def _setup(svc: Services):  # type: ignore[no-untyped-def]
    return await svc.auth.setup(
        username="alice", email="Alice@Example.test", password=PASSWORD,
        organization_name="Acme Ops", full_name="Alice A.",
    )


async def test_first_run_setup_creates_owner_and_org(svc: Services) -> None:
    assert await svc.auth.needs_setup()
    session = await _setup(svc)
    assert not await svc.auth.needs_setup()
    assert session.user.username == "alice" and session.user.email == "alice@example.test"
    assert session.user.password_hash == ""  # never handed out
    assert session.organization is not None and session.organization.slug == "acme-ops"
    assert session.principal.role is Role.OWNER and session.principal.is_superuser
    assert [m.role for m in session.memberships] == [Role.OWNER]
    assert {"organization.created", "user.created"} <= set(svc.bus.types())
    async with svc.backend.unit_of_work() as uow:
        audit = await uow.audit.list(session.organization.id, PageRequest())
        assert {a.type for a in audit.items} >= {"organization.created", "user.created"}
    # The signing key went to the keyring, nowhere else.
    assert len(svc.keyring.names()) == 1 and svc.keyring.names()[0].endswith("signing-key")


async def test_setup_only_once(svc: Services) -> None:
    await _setup(svc)
    with pytest.raises(ConflictError):
        await svc.auth.setup(username="mallory", email="m@x.test", password=PASSWORD,
                             organization_name="Evil")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("password", {"password": "short"}),
        ("username", {"username": "a b"}),
        ("email", {"email": "nope"}),
        ("name", {"organization_name": "   "}),
    ],
)
async def test_setup_validates(svc: Services, field: str, kwargs: dict[str, str]) -> None:
    args = {"username": "alice", "email": "a@x.test", "password": PASSWORD,
            "organization_name": "Acme"} | kwargs
    with pytest.raises(ValidationError) as err:
        await svc.auth.setup(**args)
    assert err.value.field == field
    assert await svc.auth.needs_setup()


async def test_login_by_username_or_email(svc: Services) -> None:
    await _setup(svc)
    by_name = await svc.auth.login("alice", PASSWORD)
    by_mail = await svc.auth.login("ALICE@example.test", PASSWORD)
    assert by_name.user.id == by_mail.user.id
    assert by_name.principal.role is Role.OWNER
    assert await svc.auth.authenticate(by_mail.tokens.access_token) == by_mail.principal
    assert "user.logged_in" in svc.bus.types()


async def test_wrong_password_and_unknown_user(svc: Services) -> None:
    await _setup(svc)
    with pytest.raises(AuthenticationError) as wrong:
        await svc.auth.login("alice", PASSWORD + "!")
    with pytest.raises(AuthenticationError) as unknown:
        await svc.auth.login("bob", PASSWORD)
    assert wrong.value.code == unknown.value.code == "BAD_CREDENTIALS"
    assert wrong.value.message == unknown.value.message  # no user enumeration
    with pytest.raises(AuthenticationError):
        await svc.auth.login("", "")


async def test_lockout_after_five_failures_grows_and_ends(svc: Services) -> None:
    await _setup(svc)
    for _ in range(4):
        with pytest.raises(AuthenticationError) as err:
            await svc.auth.login("alice", "wrong-password")
        assert not isinstance(err.value, LoginLockedError)
    with pytest.raises(LoginLockedError) as locked:
        await svc.auth.login("alice", "wrong-password")
    assert locked.value.retry_after_s == 30 and "try again in 30 seconds" in str(locked.value)
    # While locked even the right password is refused, by email too (same user).
    svc.clock.advance(seconds=10)
    with pytest.raises(LoginLockedError) as still:
        await svc.auth.login("alice@example.test", PASSWORD)
    assert still.value.retry_after_s == 20
    # After the wait one more failure locks again, for longer.
    svc.clock.advance(seconds=21)
    with pytest.raises(LoginLockedError) as longer:
        await svc.auth.login("alice", "wrong-password")
    assert longer.value.retry_after_s == 60 and "1 minute" in longer.value.message
    svc.clock.advance(seconds=61)
    session = await svc.auth.login("alice", PASSWORD)  # the lock has ended
    assert session.user.username == "alice"
    # Success resets the counter: four new failures do not lock.
    for _ in range(4):
        with pytest.raises(AuthenticationError) as err:
            await svc.auth.login("alice", "wrong-password")
        assert not isinstance(err.value, LoginLockedError)


async def test_lockout_caps_at_fifteen_minutes(svc: Services) -> None:
    await _setup(svc)
    waits = []
    for _ in range(12):
        with pytest.raises(AuthenticationError) as err:
            await svc.auth.login("alice", "wrong-password")
        if isinstance(err.value, LoginLockedError):
            waits.append(err.value.retry_after_s)
            svc.clock.advance(seconds=err.value.retry_after_s)
    assert waits[:4] == [30, 60, 120, 240] and max(waits) == 900


async def test_unknown_logins_are_throttled_too(svc: Services) -> None:
    await _setup(svc)
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            await svc.auth.login("ghost", "wrong-password")
    with pytest.raises(LoginLockedError):
        await svc.auth.login("ghost", "wrong-password")
    await svc.auth.login("alice", PASSWORD)  # other users are not affected


async def test_disabled_user_cannot_log_in(svc: Services) -> None:
    owner = await _setup(svc)
    bob = await svc.users.create_user(owner.principal, username="bob", email="bob@x.test",
                                      password=PASSWORD, role=Role.OPERATOR)
    bob_session = await svc.auth.login("bob", PASSWORD)
    await svc.users.disable_user(owner.principal, bob.user.id)
    with pytest.raises(AuthenticationError) as err:
        await svc.auth.login("bob", PASSWORD)
    assert err.value.code == "BAD_CREDENTIALS"  # the right password confirms nothing
    with pytest.raises(AuthenticationError):  # its sessions ended too
        await svc.auth.refresh(bob_session.tokens.refresh_token)
    with pytest.raises(AuthenticationError):
        await svc.auth.authenticate(bob_session.tokens.access_token)
    with pytest.raises(AuthenticationError):  # a kept principal is refused by services
        await svc.orgs.get(bob_session.principal, owner.principal.organization_id)
    # A wrong password for a disabled user gets the same answer.
    with pytest.raises(AuthenticationError) as wrong:
        await svc.auth.login("bob", "not-his-password")
    assert wrong.value.code == "BAD_CREDENTIALS"


async def test_refresh_rotates_and_reuse_revokes_the_family(svc: Services) -> None:
    await _setup(svc)
    first = await svc.auth.login("alice", PASSWORD)
    second = await svc.auth.refresh(first.tokens.refresh_token)
    assert second.tokens.refresh_token != first.tokens.refresh_token
    assert second.tokens.refresh.jti != first.tokens.refresh.jti
    with pytest.raises(AuthenticationError) as reused:
        await svc.auth.refresh(first.tokens.refresh_token)
    assert reused.value.code == "TOKEN_REUSED"
    # Reuse means theft: the current token of the same family is dead as well.
    with pytest.raises(AuthenticationError) as dead:
        await svc.auth.refresh(second.tokens.refresh_token)
    assert dead.value.code == "TOKEN_REVOKED"
    assert "session.reuse_detected" in svc.bus.types()
    # Other sessions of the same user are untouched.
    other = await svc.auth.login("alice", PASSWORD)
    await svc.auth.refresh(other.tokens.refresh_token)


async def test_wrong_type_expired_tampered_and_foreign_tokens(svc: Services) -> None:
    await _setup(svc)
    s = await svc.auth.login("alice", PASSWORD)
    with pytest.raises(AuthenticationError):
        await svc.auth.refresh(s.tokens.access_token)
    with pytest.raises(AuthenticationError):
        await svc.auth.authenticate(s.tokens.refresh_token)
    with pytest.raises(AuthenticationError):
        await svc.auth.refresh(s.tokens.refresh_token[:-3] + "abc")
    foreign = build_services(svc.backend)  # same database, another keyring → another key
    foreign.auth._workspace_id = "another-workspace"
    other_key = await foreign.auth.issuer()
    forged = other_key.issue_pair(s.user.id, s.principal.organization_id)
    with pytest.raises(AuthenticationError):
        await svc.auth.authenticate(forged.access_token)
    with pytest.raises(AuthenticationError):
        await svc.auth.refresh(forged.refresh_token)
    svc.clock.advance(minutes=16)
    with pytest.raises(AuthenticationError) as expired:
        await svc.auth.authenticate(s.tokens.access_token)
    assert expired.value.code == "TOKEN_EXPIRED"
    svc.clock.advance(days=7)
    with pytest.raises(AuthenticationError) as expired_r:
        await svc.auth.refresh(s.tokens.refresh_token)
    assert expired_r.value.code == "TOKEN_EXPIRED"


async def test_logout_then_refresh_fails(svc: Services) -> None:
    await _setup(svc)
    s = await svc.auth.login("alice", PASSWORD)
    rotated = await svc.auth.refresh(s.tokens.refresh_token)
    await svc.auth.logout(rotated.tokens.refresh_token)
    with pytest.raises(AuthenticationError) as err:
        await svc.auth.refresh(rotated.tokens.refresh_token)
    assert err.value.code == "TOKEN_REVOKED"
    assert "user.logged_out" in svc.bus.types()
    await svc.auth.logout(rotated.tokens.refresh_token)  # twice is harmless
    await svc.auth.logout("garbage")


async def test_change_password(svc: Services) -> None:
    await _setup(svc)
    s = await svc.auth.login("alice", PASSWORD)
    other = await svc.auth.login("alice", PASSWORD)
    with pytest.raises(AuthenticationError):
        await svc.auth.change_password(s.principal, "wrong-current", "new password 123")
    with pytest.raises(ValidationError):
        await svc.auth.change_password(s.principal, PASSWORD, "short")
    fresh = await svc.auth.change_password(s.principal, PASSWORD, "new password 123")
    with pytest.raises(AuthenticationError):
        await svc.auth.login("alice", PASSWORD)
    await svc.auth.login("alice", "new password 123")
    with pytest.raises(AuthenticationError):  # every older session ended
        await svc.auth.refresh(other.tokens.refresh_token)
    await svc.auth.refresh(fresh.tokens.refresh_token)
    assert "user.password_changed" in svc.bus.types()


async def test_rehash_on_login_when_parameters_change(backend: SqlBackend) -> None:
    weak = build_services(backend, PasswordHasher(time_cost=1, memory_cost=8 * 1024,
                                                  parallelism=1))
    await _setup(weak)
    stronger = PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1)
    auth2 = AuthService(ServiceContext(backend, weak.bus, clock=weak.clock), weak.secrets,
                        hasher=stronger)
    await auth2.login("alice", PASSWORD)
    async with backend.unit_of_work() as uow:
        user = await uow.users.get_by_login("alice")
        assert user is not None and ",t=2," in user.password_hash
        assert not stronger.needs_rehash(user.password_hash)


async def test_remembered_session_survives_a_restart_until_logout(svc: Services) -> None:
    await _setup(svc)
    s = await svc.auth.login("alice", PASSWORD)
    await svc.auth.remember(s)
    # A new process: new services, same database and keyring.
    restarted = AuthService(ServiceContext(svc.backend, svc.bus, clock=svc.clock), svc.secrets,
                            hasher=fast_hasher())
    restored = await restarted.restore_remembered()
    assert restored is not None and restored.user.username == "alice"
    assert s.tokens.refresh_token not in svc.keyring.values()  # rotated in the keyring
    again = await restarted.restore_remembered()
    assert again is not None
    await restarted.logout(again.tokens.refresh_token)
    assert await restarted.restore_remembered() is None


async def test_expired_remembered_session_is_forgotten(svc: Services) -> None:
    await _setup(svc)
    await svc.auth.remember(await svc.auth.login("alice", PASSWORD))
    svc.clock.advance(days=8)
    assert await svc.auth.restore_remembered() is None
    assert all(not n.endswith("remembered-refresh-token") for n in svc.keyring.names())


async def test_no_keyring_is_said_plainly_and_memory_only_works(backend: SqlBackend) -> None:
    from keyring.backends import fail

    svc = build_services(backend)
    nokeyring = SecretStore(fail.Keyring())
    assert not nokeyring.available()
    auth = AuthService(ServiceContext(backend, svc.bus, clock=svc.clock), nokeyring,
                       hasher=fast_hasher())
    with pytest.raises(SecretStoreUnavailable, match="No system keyring is available"):
        await auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                         organization_name="Acme")
    memory = SecretStore.memory_only()
    assert memory.available() and not memory.persistent
    auth = AuthService(ServiceContext(backend, svc.bus, clock=svc.clock), memory,
                       hasher=fast_hasher())
    s = await auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                         organization_name="Acme")
    await auth.remember(s)
    assert (await auth.restore_remembered()) is not None


async def test_switch_organization(svc: Services) -> None:
    s = await _setup(svc)
    second = await svc.orgs.create(s.principal, "Second Org")
    switched = await svc.auth.switch_organization(s.tokens.refresh_token, second.id)
    assert switched.principal.organization_id == second.id
    assert switched.principal.role is Role.OWNER
    assert switched.organization is not None and switched.organization.name == "Second Org"
    stranger = await svc.users.create_user(switched.principal, username="carol",
                                           email="c@x.test", password=PASSWORD)
    carol = await svc.auth.login("carol", PASSWORD)
    with pytest.raises(AuthenticationError):
        await svc.auth.switch_organization(carol.tokens.refresh_token,
                                           s.principal.organization_id)  # type: ignore[arg-type]
    assert stranger.role is Role.VIEWER
    with pytest.raises(PermissionDeniedError):
        await svc.orgs.get(carol.principal, s.principal.organization_id)  # type: ignore[arg-type]


async def test_keyring_secret_store_roundtrip() -> None:
    ring = MemoryKeyring()
    store = SecretStore(ring)
    assert store.available() and store.persistent
    await store.aset("a", "secret-value")
    assert await store.aget("a") == "secret-value"
    await store.adelete("a")
    await store.adelete("a")
    assert await store.aget("a") is None
    assert "secret-value" not in repr(store)


async def test_expired_session_records_are_purged_and_live_ones_kept(svc: Services) -> None:
    old = await _setup(svc)
    svc.clock.advance(days=8)  # past the 7-day refresh lifetime of the first session
    fresh = await svc.auth.login("alice", PASSWORD)
    assert await svc.auth.purge_expired_sessions() == 1
    assert await svc.auth.purge_expired_sessions() == 0
    refreshed = await svc.auth.refresh(fresh.tokens.refresh_token)  # the live one works
    assert refreshed.user.id == old.user.id
    with pytest.raises(AuthenticationError):
        await svc.auth.refresh(old.tokens.refresh_token)

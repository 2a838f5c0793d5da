"""Sessions end where they are used: two desktops of one user on one SQLite workspace; a
password change, a sign-out or a detected refresh-token reuse in one ends the sessions
it revokes at their next service call (read or write), with ``SESSION_ENDED``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.auth import PASSWORD, Services, build_services
from tests.support.databases import sqlite_url
from windflow_desktop.domain.errors import AuthenticationError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.repositories.sql.backend import SqlBackend


@pytest.fixture
async def desktops(tmp_path: Path) -> AsyncIterator[tuple[Services, Services]]:
    """Two desktops (each its own engine and services) over one SQLite workspace file."""
    url = sqlite_url(tmp_path / "workspace.db")
    first, second = SqlBackend(url), SqlBackend(url)
    await first.open()
    await second.open()
    try:
        one, two = build_services(first), build_services(second)
        two.secrets = one.secrets  # one workspace, one signing key (the keyring)
        two.auth.secrets = one.secrets
        yield one, two
    finally:
        await second.close()
        await first.close()


async def _ended(svc: Services, principal: Principal) -> None:
    with pytest.raises(AuthenticationError) as read:
        await svc.users.list_users(principal)
    assert read.value.code == "SESSION_ENDED"
    with pytest.raises(AuthenticationError) as write:
        await svc.orgs.rename(principal, principal.organization_id,  # type: ignore[arg-type]
                              "Renamed")
    assert write.value.code == "SESSION_ENDED"


async def test_password_change_ends_the_other_session(
    desktops: tuple[Services, Services],
) -> None:
    one, two = desktops
    await one.auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                         organization_name="Acme")
    here = await one.auth.login("alice", PASSWORD)
    there = await two.auth.login("alice", PASSWORD)
    await two.users.list_users(there.principal)  # works before
    fresh = await one.auth.change_password(here.principal, PASSWORD, "new password 123")
    await _ended(two, there.principal)
    await _ended(one, here.principal)  # the old principal of the changing window too
    await one.users.list_users(fresh.principal)  # the session it was given lives on
    await one.orgs.rename(fresh.principal, fresh.principal.organization_id,  # type: ignore[arg-type]
                          "Still works")


async def test_refresh_token_reuse_ends_both_holders(
    desktops: tuple[Services, Services],
) -> None:
    one, two = desktops
    await one.auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                         organization_name="Acme")
    victim = await one.auth.login("alice", PASSWORD)
    thief = await two.auth.refresh(victim.tokens.refresh_token)  # a copied token, rotated
    await two.users.list_users(thief.principal)
    with pytest.raises(AuthenticationError):  # the victim's rotation detects the reuse
        await one.auth.refresh(victim.tokens.refresh_token)
    await _ended(two, thief.principal)
    await _ended(one, victim.principal)
    other = await one.auth.login("alice", PASSWORD)  # a new sign-in is not affected
    await one.users.list_users(other.principal)


async def test_logout_elsewhere_ends_that_session(desktops: tuple[Services, Services]) -> None:
    one, two = desktops
    await one.auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                         organization_name="Acme")
    shared = await one.auth.login("alice", PASSWORD)
    kept = await two.auth.login("alice", PASSWORD)
    await two.auth.logout(shared.tokens.refresh_token)
    await _ended(one, shared.principal)
    await two.users.list_users(kept.principal)  # another session of the user is kept


async def test_access_token_carries_the_session(desktops: tuple[Services, Services]) -> None:
    one, two = desktops
    await one.auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                         organization_name="Acme")
    s = await one.auth.login("alice", PASSWORD)
    principal = await two.auth.authenticate(s.tokens.access_token)
    assert principal.session_id == s.principal.session_id is not None
    await one.auth.logout(s.tokens.refresh_token)
    with pytest.raises(AuthenticationError) as err:
        await two.auth.authenticate(s.tokens.access_token)
    assert err.value.code == "SESSION_ENDED"

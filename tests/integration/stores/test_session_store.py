"""SessionStore over the real AuthService (SQLite): setup, login with remember, restore
after a restart, switch organization, change password, logout; errors become sig_error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.auth import PASSWORD, build_services, fast_hasher
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.auth import AuthService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.stores.session import SessionStore


async def test_session_store_flow(qapp: Any, tmp_path: Path) -> None:
    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}")
    await backend.open()
    try:
        svc = build_services(backend)
        store = SessionStore(svc.auth)
        changes: list[bool] = []
        errors: list[tuple[str, str]] = []
        store.sig_session_changed.connect(lambda: changes.append(store.signed_in))
        store.sig_error.connect(lambda code, msg: errors.append((code, msg)))
        assert await store.check_setup() is True
        await store.setup(username="alice", email="a@x.test", password=PASSWORD,
                          organization_name="Acme")
        assert store.signed_in and store.user is not None and store.user.username == "alice"
        await store.logout()
        assert not store.signed_in
        await store.login("alice", "wrong password")
        assert errors and errors[-1][0] == "BAD_CREDENTIALS" and not store.signed_in
        await store.login("alice", PASSWORD, remember=True)
        assert store.organization is not None and store.organization.name == "Acme"
        second = await svc.orgs.create(store.principal, "Second")  # type: ignore[arg-type]
        await store.switch_org(second.id)
        assert store.organization is not None and store.organization.name == "Second"
        await store.change_password(PASSWORD, "new password 123")

        # Restart: a new store and service over the same database and keyring.
        auth2 = AuthService(ServiceContext(backend, svc.bus, clock=svc.clock),
                            SecretStore(svc.keyring), hasher=fast_hasher())
        store2 = SessionStore(auth2)
        restored = await store2.restore_remembered()
        assert restored is not None and store2.organization is not None
        assert store2.organization.name == "Second"
        await store2.logout()
        store3 = SessionStore(auth2)
        assert await store3.restore_remembered() is None
        assert changes[:2] == [True, False]
        for s in (store, store2, store3):
            await s.shutdown()
    finally:
        await backend.close()


async def test_remember_without_keyring_signals_plainly(qapp: Any, tmp_path: Path) -> None:
    from keyring.backends import fail

    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}")
    await backend.open()
    try:
        svc = build_services(backend)
        await svc.auth.setup(username="alice", email="a@x.test", password=PASSWORD,
                             organization_name="Acme")
        # Same workspace key holder for signing, but "remember" goes to a dead keyring.
        auth = svc.auth
        auth.secrets = SecretStore(fail.Keyring())
        store = SessionStore(auth)
        said: list[str] = []
        store.sig_keyring_unavailable.connect(said.append)
        await store.login("alice", PASSWORD, remember=True)
        assert store.signed_in
        assert said and "No system keyring" in said[0]
        await store.shutdown()
    finally:
        await backend.close()

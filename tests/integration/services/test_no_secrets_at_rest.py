"""After a full session (setup, failed and good sign-ins, password change, remembered
session restored, refresh, logout) neither the SQLite workspace files nor the log files
contain a password, a token or the signing key — even with SQL statement logging on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.auth import build_services, fast_hasher
from windflow_desktop.domain.errors import AuthenticationError
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.auth import AuthService
from windflow_desktop.services.common import ServiceContext

OLD_PASSWORD = "first-Secret-passw0rd"
NEW_PASSWORD = "second-Secret-passw0rd"
TYPO = "mistyped-Secret-passw0rd"


async def test_no_secret_in_database_or_logs(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "windflow.log"
    log_file.parent.mkdir()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements + parameters
    db = tmp_path / "workspace.db"
    backend = SqlBackend(f"sqlite+aiosqlite:///{db}")
    tokens: list[str] = []
    try:
        await backend.open()
        svc = build_services(backend)
        s = await svc.auth.setup(username="alice", email="alice@x.test",
                                 password=OLD_PASSWORD, organization_name="Acme")
        tokens += [s.tokens.access_token, s.tokens.refresh_token]
        with pytest.raises(AuthenticationError) as refused:
            await svc.auth.login("alice", TYPO)
        assert TYPO not in str(refused.value)
        with pytest.raises(AuthenticationError):
            await svc.auth.login(TYPO, OLD_PASSWORD)  # a password typed as the login
        s = await svc.auth.login("alice@x.test", OLD_PASSWORD)
        tokens += [s.tokens.access_token, s.tokens.refresh_token]
        await svc.auth.remember(s)
        s = await svc.auth.change_password(s.principal, OLD_PASSWORD, NEW_PASSWORD)
        tokens += [s.tokens.access_token, s.tokens.refresh_token]
        # Restart: new services over the same database and keyring, remembered session.
        auth2 = AuthService(ServiceContext(backend, svc.bus, clock=svc.clock), svc.secrets,
                            hasher=fast_hasher())
        restored = await auth2.restore_remembered()
        assert restored is not None
        tokens += [restored.tokens.access_token, restored.tokens.refresh_token]
        refreshed = await auth2.refresh(restored.tokens.refresh_token)
        tokens += [refreshed.tokens.access_token, refreshed.tokens.refresh_token]
        await auth2.authenticate(refreshed.tokens.access_token)
        await svc.users.create_user(refreshed.principal, username="bob", email="bob@x.test",
                                    password=NEW_PASSWORD + "-bob")
        await auth2.logout(refreshed.tokens.refresh_token)
        signing_keys = [v for n, v in zip(svc.keyring.names(), svc.keyring.values(),
                                          strict=True) if n.endswith("signing-key")]
        assert len(signing_keys) == 1
        events = repr([e.to_dict() for e in svc.bus.events])
    finally:
        await backend.close()
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    secrets = {
        "old password": OLD_PASSWORD,
        "new password": NEW_PASSWORD,
        "mistyped password": TYPO,
        "bob's password": NEW_PASSWORD + "-bob",
        "signing key": signing_keys[0],
    }
    secrets |= {f"token {i}": t for i, t in enumerate(tokens)}
    # The token parts that carry the signature are secret on their own as well.
    secrets |= {f"token {i} signature": t.rsplit(".", 1)[1] for i, t in enumerate(tokens)}

    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # noqa: ASYNC240
    assert db in files and log_file in files
    assert log_file.stat().st_size > 1000  # the session really logged (SQL included)
    assert b"INSERT INTO refresh_tokens" in log_file.read_bytes()
    found = []
    for path in files:
        blob = path.read_bytes()
        for label, secret in secrets.items():
            if secret.encode() in blob:
                found.append(f"{label} in {path.name}")
    for label, secret in secrets.items():
        if secret in events:
            found.append(f"{label} in a published event / audit payload")
    assert not found, found
    # The hashes are there, and they are Argon2id (the passwords only as hashes).
    assert b"$argon2id$" in db.read_bytes() or any(
        b"$argon2id$" in p.read_bytes() for p in files if p.name.startswith("workspace.db")
    )

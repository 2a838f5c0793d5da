"""A server's secrets, sealed in its database under its key file: never in clear in the
database file, one unreadable row an error for that secret only, a rotation that leaves
every secret readable, and a key file kept private (real SQLite file)."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.databases import sqlite_url
from windflow_desktop.domain.errors import ConfigurationError
from windflow_desktop.domain.models import utcnow
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.sealing import KEY_FILE, Sealer, UnsealError, load_keys
from windflow_desktop.services.sealed_secrets import SealedSecretStore, rotated

SECRET = "hunter2-the-target-password"


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[SqlBackend]:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def test_a_secret_is_sealed_at_rest_and_comes_back(backend: SqlBackend,
                                                        tmp_path: Path) -> None:
    store = SealedSecretStore(backend, Sealer(load_keys(tmp_path)))
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    await store.aset("target/1/password", SECRET)
    await store.aset("target/2/password", "another-one-here")
    assert await store.aget("target/1/password") == SECRET
    await backend.close()
    assert SECRET.encode() not in _database_bytes(tmp_path)
    await backend.open()
    await store.adelete("target/2/password")
    assert await store.aget("target/2/password") is None


async def test_one_unreadable_secret_fails_alone(backend: SqlBackend, tmp_path: Path) -> None:
    store = SealedSecretStore(backend, Sealer(load_keys(tmp_path)))
    await store.aset("good", SECRET)
    await store.aset("tampered", SECRET)
    async with backend.unit_of_work() as uow:
        key_id, text = await uow.sealed_secrets.get("tampered") or ("", "")
        await uow.sealed_secrets.put("tampered", key_id, text[:-8] + "AAAAAAAA", utcnow())
        await uow.sealed_secrets.put("elsewhere", "deadbeef", text, utcnow())
        await uow.commit()
    with pytest.raises(UnsealError, match="tampered cannot be opened"):
        await store.aget("tampered")
    with pytest.raises(UnsealError, match="key deadbeef, which this server does not have"):
        await store.aget("elsewhere")
    assert await store.aget("good") == SECRET


async def test_rotation_reseals_everything_under_the_new_key(backend: SqlBackend,
                                                            tmp_path: Path) -> None:
    store = SealedSecretStore(backend, Sealer(load_keys(tmp_path)))
    for n in range(5):
        await store.aset(f"s{n}", f"value-{n}-{SECRET}")
    old = store.sealer.key_id
    store.sealer = rotated(store.sealer)
    assert await store.reseal(batch=2) == 5
    newest = Sealer(store.sealer.keys[:1])  # the old key dropped: all still open
    store.sealer = newest
    assert [await store.aget(f"s{n}") for n in range(5)] == [
        f"value-{n}-{SECRET}" for n in range(5)]
    assert newest.key_id != old


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    load_keys(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o640)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_keys(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o600)
    (tmp_path / KEY_FILE).write_text("k1 not-a-key\n")
    with pytest.raises(ConfigurationError, match="line 1: not a key"):
        load_keys(tmp_path)


def _database_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("w.db*"))

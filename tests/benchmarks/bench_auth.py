"""``login_ms``: median time of a successful local sign-in (default Argon2id cost,
SQLite workspace in a temporary folder, in-memory keyring)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.auth import AuthService
from windflow_desktop.services.common import ServiceContext

from . import benchmark

RUNS = 15
PASSWORD = "benchmark password 123"


class _NullBus:
    async def publish(self, event: object) -> None:
        return None


@benchmark("login")
async def bench_login() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        backend = SqlBackend(f"sqlite+aiosqlite:///{Path(tmp) / 'workspace.db'}")
        await backend.open()
        try:
            auth = AuthService(ServiceContext(backend, _NullBus()), SecretStore(MemoryKeyring()))
            await auth.setup(username="bench", email="bench@x.test", password=PASSWORD,
                             organization_name="Bench")
            await auth.login("bench", PASSWORD)  # warm-up
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                await auth.login("bench", PASSWORD)
                times.append((time.perf_counter() - started) * 1000)
        finally:
            await backend.close()
    return {"login_ms": round(statistics.median(times), 1)}

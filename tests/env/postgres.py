"""A real PostgreSQL server for tests and benchmarks, on a free loopback port.

``start_postgres()`` / ``PostgresServer.stop()`` are plain functions so the benchmarks can
use them too; the pytest plugin wraps them in a session-scoped ``postgres_server`` fixture
and gives each test its own empty database with ``postgres_url``.

Debian keeps the binaries in ``/usr/lib/postgresql/<version>/bin``; PostgreSQL refuses to
run as root, so as root ``initdb``/``pg_ctl`` run as the ``postgres`` user in a folder it
owns (a folder outside pytest's root-only temp tree, which ``postgres`` could not enter).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .services import find_binary, free_port, require_binary

PG_GLOB = "/usr/lib/postgresql/*/bin/{name}"
PG_USER = "postgres"


def find_pg_ctl() -> str | None:
    return find_binary("pg_ctl", PG_GLOB.format(name="pg_ctl"))


@dataclass
class PostgresServer:
    """A running server; ``url(db)`` is the async SQLAlchemy URL of database ``db``."""

    bin_dir: Path
    base_dir: Path
    port: int
    _as_postgres: list[str]

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its async URL."""
        import asyncpg

        name = name or f"t_{uuid.uuid4().hex[:16]}"
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, database="postgres", timeout=10
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, database="postgres", timeout=10
        )
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder; idempotent."""
        if not self.base_dir.exists():
            return
        try:
            subprocess.run(
                [*self._as_postgres, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir),
                 "-m", "fast", "-w", "-t", "20", "stop"],
                check=False, capture_output=True, timeout=30,
            )
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def start_postgres(pg_ctl: str) -> PostgresServer:
    """initdb + pg_ctl start in a new temporary folder; raises RuntimeError with the log."""
    bin_dir = Path(pg_ctl).parent
    base = Path(tempfile.mkdtemp(prefix="wf-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_USER)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_postgres = ["runuser", "-u", PG_USER, "--"]
    server = PostgresServer(bin_dir=bin_dir, base_dir=base, port=free_port(),
                            _as_postgres=as_postgres)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    init = subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(server.data_dir), "-A", "trust",
         "-U", PG_USER, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    options = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} -k {base} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    start = subprocess.run(
        [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-l",
         str(base / "server.log"), "-o", options, "-w", "-t", "30", "start"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    if start.returncode != 0:
        log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() \
            else ""
        server.stop()
        raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()}\n{log[-2000:]}")
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (skip/fail if it is not installed)."""
    pg_ctl = require_binary("pg_ctl", PG_GLOB.format(name="pg_ctl"), package="postgresql")
    server = start_postgres(pg_ctl)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database for this test only (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = await postgres_server.create_database(name)
    yield url
    await postgres_server.drop_database(name)

"""Workspace backends on real databases: a SQLite file and a PostgreSQL server.

``backend`` runs each test on both (the PostgreSQL case carries the ``postgres`` marker);
``database_url`` gives the same choice as a bare URL, for tests that build their own engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.databases import sqlite_url
from windflow_desktop.repositories.sql.backend import SqlBackend

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "workspace.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def backend(database_url: str) -> AsyncIterator[SqlBackend]:
    """An opened ``SqlBackend`` migrated to head; closed after the test."""
    sql = SqlBackend(database_url)
    await sql.open()
    try:
        yield sql
    finally:
        await sql.close()


@pytest.fixture
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[SqlBackend]:
    """The SQLite file workspace alone, for SQLite-specific checks."""
    sql = SqlBackend(sqlite_url(tmp_path / "workspace.db"))
    await sql.open()
    try:
        yield sql
    finally:
        await sql.close()

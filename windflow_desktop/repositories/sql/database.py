"""Opening the workspace database: engine, SQLite pragmas, and Alembic migrations at start."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from ...domain.errors import ConflictError, StorageError

log = logging.getLogger("windflow.database")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
CONNECT_TIMEOUT_S = 5.0


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args["timeout"] = 30
    elif url.startswith("postgresql"):
        connect_args["timeout"] = CONNECT_TIMEOUT_S
    # A server's connections can drop (a restart, an idle timeout): check each before
    # use. A SQLite file cannot, and the check cost a round trip to the connection's
    # thread on every unit of work.
    engine = create_async_engine(url, echo=echo, connect_args=connect_args,
                                 pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "handle_error", _integrity_as_conflict)
    return engine


def _integrity_as_conflict(ctx: ExceptionContext) -> BaseException | None:
    """A unique or foreign-key violation is a ``ConflictError`` for the services.

    Done on the engine so every path that reaches the database maps it the same way:
    explicit flushes, autoflush before a query, and ``commit()``.
    """
    if isinstance(ctx.sqlalchemy_exception, IntegrityError):
        return ConflictError(
            f"the change conflicts with stored data: {_reason(ctx.sqlalchemy_exception)}"
        )
    return None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def _current(connection: Connection) -> str | None:
    """The schema's revision, read without alembic (whose import, with mako's, costs a
    server 11 MB of memory for as long as it runs)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def newest_revision() -> str:
    """The newest migration's revision, from the file names alone: ``NNNN_what.py`` holds
    revision ``NNNN`` on a single line of history (test_migrations checks both)."""
    return max(p.name[:4] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]" * 4 + "_*.py"))


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` (a new workspace is created, an old one upgraded)."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S * 4):
            async with engine.begin() as conn:
                before = await conn.run_sync(_current)
                if revision == "head" and before == newest_revision():
                    return before  # the usual start: nothing to do, alembic not loaded
                await conn.run_sync(_upgrade, revision)
                after = await conn.run_sync(_current)
    except TimeoutError as exc:
        raise StorageError(
            f"the database at {describe_url(engine)} did not answer within "
            f"{CONNECT_TIMEOUT_S * 4:.0f} s; check that it is running and reachable"
        ) from exc
    except (OSError, DBAPIError, SQLAlchemyError) as exc:
        hint = (
            "check that its folder exists and is writable"
            if engine.dialect.name == "sqlite"
            else "check WINDFLOW_DATABASE_URL and that the server is running"
        )
        raise StorageError(
            f"cannot open the database at {describe_url(engine)}: {_reason(exc)}; {hint}"
        ) from exc
    if before != after:
        log.info("workspace schema migrated from %s to %s", before or "empty", after)
    return after


def describe_url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc.__cause__ or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return text

"""Reads remembered between units of work, for a database only this process writes (the
server's embedded SQLite workspace).

A ``ReadCache`` watches a few tables. Any statement other than a SELECT that names one of
them forgets everything the cache holds, when it runs and again once its transaction has
ended (the connection back in the pool). A unit of work that began before a forgetting,
or while such a write is uncommitted, stores nothing: what it read may already be old.
Only writes through this process's engine are seen, so this is for tables no other
process writes; ``ttl_s`` bounds an entry's life all the same. Naming a table is enough to
forget (``targets`` also matches ``target_capabilities``): it fails toward not caching.

Two are kept (``SqlBackend.remember_reads``):
- users' standings (``users.standing``: account active, role, session live — asked on
  every authenticated call), forgotten on any write to a people table: a role change, a
  removed member, a disabled account, a sign-out anywhere, a password change, a reused
  refresh token, a revoked access token, a purge;
- pages of an organization's targets list as shown (``targets.browse``), forgotten on any
  write to the targets (a health round's ``last_seen`` included).

What is remembered is detached and shared between requests: read it, never change it.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

PEOPLE_TABLES = ("users", "memberships", "organizations", "refresh_tokens", "access_tokens")
TARGET_TABLES = ("targets",)
TTL_S = 5.0
MAX_ENTRIES = 10_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadCache(Generic[K, V]):
    def __init__(self, tables: tuple[str, ...], ttl_s: float = TTL_S) -> None:
        self._tables = tables
        self._ttl = ttl_s
        self._entries: dict[K, tuple[V, float]] = {}
        self.generation = 0
        self._writing = 0  # connections with a write to these tables not yet ended
        self._mark = f"windflow_wrote_{id(self)}"

    def start(self) -> int | None:
        """Taken when a unit of work begins: the generation it may store under, or None
        (a write is in flight: nothing read now is kept)."""
        return None if self._writing else self.generation

    def get(self, key: K) -> V | None:
        known = self._entries.get(key)
        if known is None or self._writing:
            return None
        if known[1] <= time.monotonic():
            del self._entries[key]
            return None
        return known[0]

    def put(self, key: K, value: V, generation: int | None) -> None:
        if generation is None or generation != self.generation or self._writing:
            return  # read across a forgetting: perhaps old already
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + self._ttl)

    def forget(self) -> None:
        self.generation += 1
        self._entries.clear()

    def watch(self, engine: AsyncEngine) -> None:
        """Forget on every write to the tables through ``engine``, and again when its
        connection comes back to the pool (its transaction committed or rolled back)."""
        sync = engine.sync_engine

        def executed(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not self._may_change(statement):
                return
            if not conn.info.get(self._mark):
                conn.info[self._mark] = True
                self._writing += 1
            self.forget()

        def returned(_dbapi: Any, record: Any) -> None:
            if record is not None and record.info.pop(self._mark, False):
                self._writing -= 1
                self.forget()

        event.listen(sync, "after_cursor_execute", executed)
        event.listen(sync, "checkin", returned)

    def close(self) -> None:
        self._entries.clear()

    def _may_change(self, statement: str) -> bool:
        head = statement.lstrip()[:6].upper()
        if head == "SELECT":
            return False
        text = statement.lower()
        return any(table in text for table in self._tables)

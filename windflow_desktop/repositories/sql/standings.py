"""Standings remembered between units of work, for a database only this process writes
(the server's embedded SQLite workspace).

``users.standing`` (account active, role, session live) runs on every authenticated call.
Here its answer is kept until anything that could change it is written: any statement
other than a SELECT that names a people table (users, memberships, organizations, sign-in
sessions, access tokens — a role change, a removed member, a disabled account, a sign-out
anywhere, a password change, a reused refresh token, a revoked access token, a purge)
forgets everything at once, when it runs and again once its transaction has ended (the
connection back in the pool). A unit of work that began before a forgetting, or while a
people write is uncommitted, stores nothing: what it read may already be old. Only writes
through this process's engine are seen, so this is for a workspace no other process
writes; ``ttl_s`` bounds an entry's life all the same.

The remembered ``User`` is detached and shared between requests: read it, never change it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from ...domain.identity import Standing

PEOPLE_TABLES = ("users", "memberships", "organizations", "refresh_tokens", "access_tokens")
TTL_S = 5.0
MAX_ENTRIES = 10_000
_WROTE = "windflow_people_write"

Key = tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None]


class StandingCache:
    def __init__(self, ttl_s: float = TTL_S) -> None:
        self._ttl = ttl_s
        self._entries: dict[Key, tuple[Standing, float]] = {}
        self.generation = 0
        self._writing = 0  # connections with a people write not yet ended

    def start(self) -> int | None:
        """Taken when a unit of work begins: the generation it may store under, or None
        (a people write is in flight: nothing read now is kept)."""
        return None if self._writing else self.generation

    def get(self, key: Key) -> Standing | None:
        known = self._entries.get(key)
        if known is None or self._writing:
            return None
        if known[1] <= time.monotonic():
            del self._entries[key]
            return None
        return known[0]

    def put(self, key: Key, standing: Standing, generation: int | None) -> None:
        if generation is None or generation != self.generation or self._writing:
            return  # read across a forgetting: perhaps old already
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (standing, time.monotonic() + self._ttl)

    def forget(self) -> None:
        self.generation += 1
        self._entries.clear()

    def watch(self, engine: AsyncEngine) -> None:
        """Forget on every people write through ``engine``, and again when its
        connection comes back to the pool (its transaction committed or rolled back)."""
        sync = engine.sync_engine

        def executed(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not _may_change_standing(statement):
                return
            if not conn.info.get(_WROTE):
                conn.info[_WROTE] = True
                self._writing += 1
            self.forget()

        def returned(_dbapi: Any, record: Any) -> None:
            if record is not None and record.info.pop(_WROTE, False):
                self._writing -= 1
                self.forget()

        event.listen(sync, "after_cursor_execute", executed)
        event.listen(sync, "checkin", returned)

    def close(self) -> None:
        self._entries.clear()


def _may_change_standing(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    if head == "SELECT":
        return False
    text = statement.lower()
    return any(table in text for table in PEOPLE_TABLES)

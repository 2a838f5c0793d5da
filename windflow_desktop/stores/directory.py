"""``DirectoryStore``: the names of the organization's targets and stacks by id —
archived stacks and filtered-out rows included — for the pages and the dashboard that
show an id's name (the Deployments page's Stack and Target columns). Loaded at sign-in,
reloaded a moment after any target or stack event of the organization, emptied at
sign-out or an organization switch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject

from ..domain.events import Event
from ..domain.identity import Principal
from ..domain.paging import MAX_PAGE_SIZE, PageRequest
from ..services.protocols import StacksApi, TargetsApi
from .base import OrganizationStore
from .session import SessionStore

RELOAD_AFTER_S = 0.3


class DirectoryStore(OrganizationStore):
    def __init__(self, session: SessionStore, targets: TargetsApi, stacks: StacksApi,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._targets = targets
        self._stacks = stacks
        self._names: dict[tuple[str, uuid.UUID], str] = {}
        self._follow(session, now=True)

    def name_of(self, kind: str, object_id: uuid.UUID) -> str:
        """The name of target or stack ``object_id`` (its short id while not known)."""
        return self._names.get((kind, object_id)) or str(object_id)[:8]

    def _switch(self, principal: Principal | None) -> None:
        self._names = {}
        self.sig_changed.emit()
        if principal is not None:
            self.run("load", self._load)

    def apply_events(self, batch: Sequence[Event]) -> None:
        principal = self._session.principal
        if principal is None:
            return
        org = str(principal.organization_id)
        if any(e.aggregate_type in ("target", "stack") and e.organization_id == org
               for e in batch):
            self.run("load", self._load_soon)  # a burst of changes: one reload

    async def _load_soon(self) -> None:
        await asyncio.sleep(RELOAD_AFTER_S)
        await self._load()

    async def _load(self) -> None:
        principal = self._session.principal
        if principal is None:
            return
        names: dict[tuple[str, uuid.UUID], str] = {}
        for archived in (False, True):
            for stack in await _all(lambda page, a=archived: self._stacks.list_stacks(
                    principal, page, archived=a)):
                names[("stack", stack.id)] = stack.name
        for target in await _all(lambda page: self._targets.list_targets(principal, page)):
            names[("target", target.id)] = target.name
        if self._session.principal is principal:  # still the same sign-in
            self._names = names
            self.sig_changed.emit()


async def _all(fetch: Any) -> list[Any]:
    """Every row of a keyset-paged list."""
    rows: list[Any] = []
    cursor: str | None = None
    while True:
        page = await fetch(PageRequest(MAX_PAGE_SIZE, cursor))
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return rows

"""``ActivityStore``: the audit trail for the Activity page — keyset pages fetched on
demand, filters (actor, type, object, time, search text), and live rows prepended from
the ``EventBridge`` batches (one prepend per batch, whatever its size).

The store holds ``ActivityEntry`` rows newest first. A new query (filters, refresh,
another organization) replaces them; ``fetch_more`` appends the next older page; live
events that match the filters and are audited are turned into entries and prepended.
While the first page of a query is loading, live events are held back and merged after
it (without the ones the page already holds), so nothing shows twice or goes missing.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import EllipsisType
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.activity import ActivityEntry, ActivityFilters, Actor
from ..domain.events import NOT_AUDITED, Event
from ..domain.identity import Principal
from ..domain.paging import PageRequest
from ..domain.words import words
from ..services.protocols import ActivityApi
from .base import OrganizationStore
from .session import SessionStore

__all__ = ["ActivityEntry", "ActivityFilters", "ActivityStore", "Actor", "describe"]

log = logging.getLogger("windflow.stores.activity")

PAGE_SIZE = 200

# Published on the bus but not written to the audit trail (progress, not history):
# showing them live would make the live view differ from the same view reloaded.

TIME_RANGES: Mapping[str, timedelta | None] = {
    "any": None,
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}


class ActivityStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_rows_reset(): ``rows`` was replaced (new query, refresh, signed out).
    sig_rows_appended(object): an older page, a tuple of ``ActivityEntry`` (goes last).
    sig_rows_prepended(object): live entries, a tuple of ``ActivityEntry`` newest first.
    sig_filters_changed(): ``filters``, ``search`` or ``time_range`` changed.
    sig_actors_changed(): ``actors`` was reloaded.
    """

    sig_rows_reset = Signal()
    sig_rows_appended = Signal(object)
    sig_rows_prepended = Signal(object)
    sig_filters_changed = Signal()
    sig_actors_changed = Signal()

    def __init__(
        self,
        session: SessionStore,
        service: ActivityApi,
        *,
        page_size: int = PAGE_SIZE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._service = service
        self._page_size = page_size
        self._rows: list[ActivityEntry] = []
        self._cursor: str | None = None
        self._loaded = False
        self._loading_first = False
        self._held: list[Event] = []
        self._filters = ActivityFilters()
        self._time_range = "any"
        self._search = ""
        self._actors: tuple[Actor, ...] = ()
        self._actor_names: dict[uuid.UUID, str] = {}
        self._actor_ids: dict[str, uuid.UUID] = {}  # parsing a UUID per live event adds up
        self._follow(session, now=True)

    # -- state -----------------------------------------------------------------------

    @property
    def rows(self) -> tuple[ActivityEntry, ...]:
        return tuple(self._rows)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def has_more(self) -> bool:
        """Whether an older page exists (the model's ``canFetchMore``)."""
        return self._loaded and self._cursor is not None

    @property
    def fetching(self) -> bool:
        return "fetch_more" in self._actions or "load" in self._actions

    @property
    def filters(self) -> ActivityFilters:
        return self._filters

    @property
    def search(self) -> str:
        return self._search

    @property
    def time_range(self) -> str:
        return self._time_range

    @property
    def actors(self) -> tuple[Actor, ...]:
        return self._actors

    def actor_name(self, actor_id: uuid.UUID | None) -> str:
        if actor_id is None:
            return ""
        return self._actor_names.get(actor_id, str(actor_id)[:8])

    # -- filters (each starts a new query) --------------------------------------------

    def set_filters(
        self,
        *,
        type_prefix: str | EllipsisType | None = ...,
        actor_id: uuid.UUID | EllipsisType | None = ...,
        aggregate_id: str | EllipsisType | None = ...,
        time_range: str | EllipsisType = ...,
    ) -> None:
        """Change some filters (``...`` keeps one as it is) and reload."""
        changes: dict[str, Any] = {}
        if type_prefix is not ...:
            changes["type_prefix"] = type_prefix or None
        if actor_id is not ...:
            changes["actor_id"] = actor_id
        if aggregate_id is not ...:
            changes["aggregate_id"] = aggregate_id or None
        if time_range is not ...:
            if time_range not in TIME_RANGES:
                raise ValueError(f"unknown time range {time_range!r}")
            self._time_range = time_range
        self._filters = dataclasses.replace(self._filters, **changes)
        self.sig_filters_changed.emit()
        self.load()

    def set_search(self, text: str) -> None:
        """Match the event type or the object id (case-insensitive substring)."""
        text = text.strip()
        if text == self._search:
            return
        self._search = text
        self.sig_filters_changed.emit()
        self.load()

    def clear_filters(self) -> None:
        self._filters = ActivityFilters()
        self._time_range = "any"
        self._search = ""
        self.sig_filters_changed.emit()
        self.load()

    # -- actions ---------------------------------------------------------------------

    def load(self) -> Any:
        """Run the current query from the newest row (also: refresh)."""
        pending = self._actions.get("fetch_more")
        if pending is not None:
            pending.cancel()
        self._loading_first = True
        self._held = []

        async def act() -> int:
            principal = self._require()
            filters = self._effective_filters()
            try:
                page = await self._service.list(principal, self._page_request(None), filters)
            finally:
                self._loading_first = False
            held, self._held = self._held, []
            self._rows = list(page.items)
            self._cursor = page.next_cursor
            self._loaded = True
            self._learn(page.items)
            self.sig_rows_reset.emit()
            self.sig_changed.emit()
            if held:
                known = {_signature(e) for e in self._rows[: self._page_size]}
                self._apply_live([e for e in held if _signature_of_event(e) not in known])
            return len(self._rows)

        return self.run("load", act)

    def fetch_more(self) -> Any:
        """Append the next older page (ignored while a query or a fetch is running)."""
        if not self.has_more or self.fetching:
            return None
        cursor = self._cursor

        async def act() -> int:
            principal = self._require()
            page = await self._service.list(
                principal, self._page_request(cursor), self._effective_filters()
            )
            if cursor != self._cursor:  # a new query replaced the rows meanwhile
                return 0
            self._cursor = page.next_cursor
            known = {e.id for e in self._rows}
            fresh = tuple(e for e in page.items if e.id not in known)
            self._rows.extend(fresh)
            self._learn(fresh)
            self.sig_rows_appended.emit(fresh)
            self.sig_changed.emit()
            return len(fresh)

        return self.run("fetch_more", act)

    def load_actors(self) -> Any:
        async def act() -> tuple[Actor, ...]:
            self._actors = await self._service.actors(self._require())
            for actor in self._actors:
                self._actor_names[actor.id] = actor.name
            self.sig_actors_changed.emit()
            return self._actors

        return self.run("load_actors", act)

    # -- live ------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """An ``EventBridge`` batch: prepend the audited events that match, at once."""
        if self._closed or self._session.principal is None:
            return
        if self._loading_first:
            self._held.extend(e for e in batch if e.event_type not in NOT_AUDITED)
            return
        if self._loaded:
            self._apply_live(batch)

    def _apply_live(self, batch: Iterable[Event]) -> None:
        principal = self._session.principal
        if principal is None:
            return
        org = str(principal.organization_id) if principal.organization_id else None
        filters = self._effective_filters()
        search = self._search.lower()
        fresh: list[ActivityEntry] = []
        for event in batch:
            if event.event_type in NOT_AUDITED or event.organization_id != org:
                continue
            if not _matches(event, filters, search):
                continue
            fresh.append(self._entry(event))
        if not fresh:
            return
        fresh.reverse()  # the batch is oldest first; the rows are newest first
        self._rows[:0] = fresh
        self.sig_rows_prepended.emit(tuple(fresh))
        self.sig_changed.emit()

    def _entry(self, event: Event) -> ActivityEntry:
        actor = self._actor_ids.get(event.actor_id) if event.actor_id else None
        if event.actor_id and actor is None:
            try:
                actor = self._actor_ids[event.actor_id] = uuid.UUID(event.actor_id)
            except ValueError:
                actor = None
        return ActivityEntry(
            id=event.event_id, ts=event.timestamp, type=event.event_type,
            aggregate_type=event.aggregate_type, aggregate_id=event.aggregate_id,
            actor_id=actor, actor_name=self.actor_name(actor), data=event.data,
        )

    # -- helpers ---------------------------------------------------------------------

    def _effective_filters(self) -> ActivityFilters:
        span = TIME_RANGES[self._time_range]
        since = datetime.now(UTC) - span if span is not None else None
        return dataclasses.replace(self._filters, since=since)

    def _page_request(self, after: str | None) -> PageRequest:
        return PageRequest(limit=self._page_size, after=after, search=self._search or None)

    def _learn(self, entries: Iterable[ActivityEntry]) -> None:
        for entry in entries:
            if entry.actor_id is not None and entry.actor_id not in self._actor_names:
                self._actor_names[entry.actor_id] = entry.actor_name

    def _switch(self, p: Principal | None) -> None:
        self._rows, self._cursor, self._loaded = [], None, False
        self._actors = ()
        self.sig_rows_reset.emit()
        self.sig_actors_changed.emit()
        if p is not None:
            self.load()
            self.load_actors()


def _matches(event: Event, f: ActivityFilters, search: str) -> bool:
    if f.type_prefix and not event.event_type.startswith(f.type_prefix):
        return False
    if f.actor_id is not None and event.actor_id != str(f.actor_id):
        return False
    if f.aggregate_id and event.aggregate_id != f.aggregate_id:
        return False
    if f.since is not None and event.timestamp < f.since:
        return False
    return not search or search in event.event_type.lower() or \
        search in event.aggregate_id.lower()


def _signature(entry: ActivityEntry) -> tuple[str, str, datetime]:
    return entry.type, entry.aggregate_id, entry.ts


def _signature_of_event(event: Event) -> tuple[str, str, datetime]:
    return event.event_type, event.aggregate_id, event.timestamp


# -- words ---------------------------------------------------------------------------

def object_label(entry: ActivityEntry) -> str:
    """The object an entry is about, by name when the event carried one."""
    data = entry.data
    name = data.get("name") or data.get("username") or data.get("project") or ""
    kind = entry.aggregate_type.replace("_", " ")
    return f"{kind} {name}" if name else f"{kind} {entry.aggregate_id[:8]}"


def event_label(event_type: str) -> str:
    """``deployment.stage_changed`` → "Deployment stage changed"."""
    aggregate, _, verb = event_type.partition(".")
    text = f"{aggregate} {verb}".replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def describe(entry: ActivityEntry) -> str:
    """One line saying what happened, from the event's data (no I/O)."""
    d, t = entry.data, entry.type
    name = str(d.get("name") or d.get("username") or "")
    if t == "deployment.finished":
        status = words(str(d.get("status") or "finished"))
        error = f": {d['error']}" if d.get("error") else ""
        return f"Deployment {status}{error}"
    if t == "deployment.created":
        what = d.get("project") or "deployment"
        if d.get("status") == "succeeded":  # adopted or kept: recorded as it runs
            return f"Deployment of {what} recorded as it runs"
        return f"Deployment of {what} queued"
    if t == "target.status_changed":
        before = d.get("from", d.get("previous", "?"))
        after = d.get("to", d.get("status", "?"))
        error = f" ({d['error']})" if d.get("error") else ""
        return f"{name or 'Target'}: {before} → {after}{error}"
    if t == "membership.role_changed":
        return f"{name}: role {d.get('from')} → {d.get('to')}"
    if t in ("user.created", "membership.added"):
        role = f" as {d['role']}" if d.get("role") else ""
        verb = "created" if t == "user.created" else "added"
        return f"{name} {verb}{role}"
    if t == "stack.revised":
        revision = f" to revision {d['revision']}" if d.get("revision") else ""
        return f"Stack {name} revised{revision}"
    if t in ("stack.adopted", "stack.change_kept"):
        verb = "adopted from" if t == "stack.adopted" else "kept the changes made by hand to"
        return (f"Stack {name} {verb} project {d.get('project')} on "
                f"{d.get('target_name')} (revision {d.get('revision')})")
    if t == "organization.renamed":
        return f"Organization renamed from {d.get('from')} to {d.get('to')}"
    label = event_label(t)
    return f"{label}: {name}" if name else label

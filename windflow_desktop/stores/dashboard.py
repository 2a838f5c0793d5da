"""``DashboardStore``: the dashboard's summary of the signed-in organization, kept live.

The summary loads on sign-in and on an organization switch (latest wins: a switch
cancels a load for the previous organization). ``EventBridge`` batches are applied in
two steps: what an event says outright is patched in at once without I/O (a recent
deployment's status and stage, a target's status in the health list, a new activity
row); then, if the batch can change a count or a list, ONE reload of the summary is
asked for. While a reload runs, further batches only mark the summary stale, and one
more reload follows when it ends — a storm of events costs a reload at a time, never a
queue of them, and the last state is always read.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.activity import ActivityEntry, DashboardSummary, RecentDeployment, TargetHealth
from ..domain.enums import DeploymentStage, DeploymentStatus, TargetStatus
from ..domain.events import NOT_AUDITED, PAYLOADS, DeploymentFinished, Event, TargetStatusChanged
from ..domain.identity import Principal
from ..services.protocols import DashboardApi
from .base import OrganizationStore
from .session import SessionStore

__all__ = ["DashboardStore", "DashboardSummary", "RecentDeployment", "TargetHealth"]

log = logging.getLogger("windflow.stores.dashboard")

# Progress that changes no count and no list (the stage is patched in place).
_NO_RELOAD = frozenset({"deployment.log", "deployment.stage_changed"})
# Published but not audited: never an activity row (as in ActivityStore).


class DashboardStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_summary_changed(): ``summary`` was replaced or patched (counts, lists).
    """

    sig_summary_changed = Signal()

    def __init__(self, session: SessionStore, service: DashboardApi,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._service = service
        self._summary: DashboardSummary | None = None
        self._stale = False
        self.reload_count = 0  # finished loads (tests, diagnostics)
        self._follow(session, now=True)

    # -- state -----------------------------------------------------------------------

    @property
    def summary(self) -> DashboardSummary | None:
        return self._summary

    @property
    def loaded(self) -> bool:
        return self._summary is not None

    @property
    def loading(self) -> bool:
        return "load" in self._actions

    # -- actions ---------------------------------------------------------------------

    def load(self) -> Any:
        """Read the summary now (cancels a load already running: latest wins)."""
        self._stale = False

        async def act() -> DashboardSummary:
            summary = await self._service.summary(self._require())
            self._summary = summary
            self.reload_count += 1
            self.sig_summary_changed.emit()
            self.sig_changed.emit()
            return summary

        task = self.run("load", act)
        task.add_done_callback(self._after_load)
        return task

    def refresh(self) -> Any:
        """Reload unless a load is running (then one more follows it)."""
        if self.loading:
            self._stale = True
            return self._actions["load"]
        return self.load()

    def _after_load(self, task: Any) -> None:
        if self._closed or task.cancelled():
            return
        if self._stale and self._session.principal is not None and not self.loading:
            self.load()

    # -- live ------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """An ``EventBridge`` batch: patch what the events say, then at most one reload."""
        principal = self._session.principal
        if self._closed or principal is None or self._summary is None:
            return
        org = str(principal.organization_id) if principal.organization_id else None
        summary = self._summary
        recent = {d.id: d for d in summary.recent_deployments}
        health = {h.id: h for h in summary.health}
        activity: list[ActivityEntry] = []
        patched = reload = False
        for event in batch:
            if event.organization_id != org:
                continue
            if event.event_type not in _NO_RELOAD:
                reload = True
            if event.aggregate_type == "deployment":
                patched |= _patch_deployment(recent, event)
            elif event.event_type == "target.status_changed":
                patched |= _patch_target(health, event)
            if event.event_type not in NOT_AUDITED:
                activity.append(self._entry(event))
        if activity:
            activity.reverse()  # the batch is oldest first; activity is newest first
            keep = max(len(summary.activity), len(activity))
            known = {e.id for e in summary.activity}
            fresh = tuple(e for e in activity if e.id not in known)
            if fresh:
                summary = dataclasses.replace(
                    summary, activity=(*fresh, *summary.activity)[:keep])
                patched = True
        if patched:
            self._summary = dataclasses.replace(
                summary,
                recent_deployments=tuple(recent[d.id] for d in summary.recent_deployments),
                health=tuple(health[h.id] for h in summary.health),
            )
            self.sig_summary_changed.emit()
            self.sig_changed.emit()
        if reload:
            self.refresh()

    def _entry(self, event: Event) -> ActivityEntry:
        actor: uuid.UUID | None = None
        name = ""
        if event.actor_id:
            try:
                actor = uuid.UUID(event.actor_id)
            except ValueError:
                actor = None
            known = next((e.actor_name for e in self._summary.activity
                          if e.actor_id == actor), None) if self._summary else None
            user = self._session.user
            if known is None and user is not None and user.id == actor:
                known = user.full_name or user.username
            name = known or str(event.actor_id)[:8]
        return ActivityEntry(
            id=event.event_id, ts=event.timestamp, type=event.event_type,
            aggregate_type=event.aggregate_type, aggregate_id=event.aggregate_id,
            actor_id=actor, actor_name=name, data=dict(event.data),
        )

    # -- helpers ---------------------------------------------------------------------

    def _switch(self, p: Principal | None) -> None:
        self._stale = False
        self._summary = None
        self.sig_summary_changed.emit()
        self.sig_changed.emit()
        if p is not None:
            self.load()


def _patch_deployment(recent: dict[uuid.UUID, RecentDeployment], event: Event) -> bool:
    try:
        dep_id = uuid.UUID(event.aggregate_id)
    except ValueError:
        return False
    row = recent.get(dep_id)
    if row is None or event.event_type == "deployment.log":
        return False
    payload = PAYLOADS.get(event.event_type)
    if payload is None:
        return False
    changes: dict[str, Any] = {}
    try:
        known = payload.from_event(event)
        status, stage = getattr(known, "status", None), getattr(known, "stage", None)
        if status:
            changes["status"] = DeploymentStatus(status)
        if stage:
            changes["stage"] = DeploymentStage(stage)
    except (KeyError, ValueError):
        return False
    if isinstance(known, DeploymentFinished):
        changes["finished_at"] = event.timestamp
        changes["error"] = known.error
    if not changes:
        return False
    recent[dep_id] = dataclasses.replace(row, **changes)
    return True


def _patch_target(health: dict[uuid.UUID, TargetHealth], event: Event) -> bool:
    try:
        target_id = uuid.UUID(event.aggregate_id)
        status = TargetStatus(TargetStatusChanged.from_event(event).after)
    except ValueError:
        return False
    row = health.get(target_id)
    if row is None or row.status is status:
        return False
    last_seen = event.timestamp if status is TargetStatus.ONLINE else row.last_seen
    health[target_id] = dataclasses.replace(row, status=status, last_seen=last_seen)
    return True

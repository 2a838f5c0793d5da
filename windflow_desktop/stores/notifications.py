"""``NotificationsStore``: turns ``EventBridge`` batches into notifications — deployment
succeeded / failed / rolled back, target offline / back online — keeps the recent ones,
the last deployments for the tray menu, and the overall state the tray icon shows.

One batch gives at most one ``sig_notified`` (a storm of failures becomes one grouped
notification, not a flood of pop-ups) and one ``sig_recent_changed``. Muting a kind is a
user preference kept in ``QSettings``: a muted kind neither pops up nor enters the recent
list, but still counts for the overall state (a failure is a failure).

Deployment events are read through their typed payloads (``domain/events``):
``deployment.created`` and ``deployment.finished`` carry the stack's and the target's
names; names learned from other events (``target.*``/``stack.*`` carry ``name``) fill
the gaps, and the app may teach more with ``remember_name``. No I/O happens here.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from PySide6.QtCore import QObject, QSettings, Signal

from ..domain.events import DeploymentCreated, DeploymentFinished, Event
from ..domain.models import utcnow

MAX_RECENT = 100
MAX_DEPLOYMENTS = 5


class NotificationKind(StrEnum):
    DEPLOYMENT_SUCCEEDED = "deployment_succeeded"
    DEPLOYMENT_FAILED = "deployment_failed"
    DEPLOYMENT_ROLLED_BACK = "deployment_rolled_back"
    TARGET_OFFLINE = "target_offline"
    TARGET_ONLINE = "target_online"
    UPDATES_AVAILABLE = "updates_available"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def severity(self) -> str:
        """``info`` | ``warning`` | ``error``."""
        return _SEVERITY[self]


_KIND_LABELS = {
    NotificationKind.DEPLOYMENT_SUCCEEDED: "A deployment succeeded",
    NotificationKind.DEPLOYMENT_FAILED: "A deployment failed",
    NotificationKind.DEPLOYMENT_ROLLED_BACK: "A deployment was rolled back",
    NotificationKind.TARGET_OFFLINE: "A target went offline",
    NotificationKind.TARGET_ONLINE: "A target is back online",
    NotificationKind.UPDATES_AVAILABLE: "An image has an update",
}
_SEVERITY = {
    NotificationKind.DEPLOYMENT_SUCCEEDED: "info",
    NotificationKind.DEPLOYMENT_FAILED: "error",
    NotificationKind.DEPLOYMENT_ROLLED_BACK: "warning",
    NotificationKind.TARGET_OFFLINE: "error",
    NotificationKind.TARGET_ONLINE: "info",
    NotificationKind.UPDATES_AVAILABLE: "info",
}
_RANK = {"info": 0, "warning": 1, "error": 2}


class OverallState(StrEnum):
    OK = "ok"
    DEPLOYING = "deploying"
    FAILURE = "failure"
    TARGET_OFFLINE = "target_offline"

    @property
    def label(self) -> str:
        return {
            OverallState.OK: "All good",
            OverallState.DEPLOYING: "Deployment in progress",
            OverallState.FAILURE: "A deployment failed",
            OverallState.TARGET_OFFLINE: "A target is offline",
        }[self]


@dataclass(frozen=True)
class Notification:
    """What to tell the user. ``aggregate_id`` is "" for a grouped notification (it opens
    the list of that aggregate type rather than one object)."""

    kind: NotificationKind
    title: str
    message: str
    aggregate_type: str
    aggregate_id: str
    ts: datetime = field(default_factory=utcnow)
    count: int = 1
    read: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def severity(self) -> str:
        return self.kind.severity


@dataclass(frozen=True)
class DeploymentSummary:
    """A recent deployment for the tray menu."""

    id: str
    title: str
    status: str
    ts: datetime


_IN_PROGRESS = frozenset({"pending", "running"})
_DEPLOYMENT_KINDS = {
    "succeeded": NotificationKind.DEPLOYMENT_SUCCEEDED,
    "failed": NotificationKind.DEPLOYMENT_FAILED,
    "rolled_back": NotificationKind.DEPLOYMENT_ROLLED_BACK,
}
_OFFLINE = frozenset({"offline", "error"})
_PROGRESS_EVENTS = frozenset({"deployment.created", "deployment.stage_changed",
                              "deployment.status_changed"})


class NotificationsStore(QObject):
    """Signals:
    sig_notified(object): a ``Notification`` to show now (one per batch at most; grouped
        when the batch holds several).
    sig_recent_changed(): ``recent`` or the unread count changed.
    sig_state_changed(str): the ``OverallState`` value changed.
    sig_deployments_changed(): ``last_deployments`` changed.
    sig_mute_changed(str, bool): a kind (``NotificationKind`` value) was muted/unmuted.
    """

    sig_notified = Signal(object)
    sig_recent_changed = Signal()
    sig_state_changed = Signal(str)
    sig_deployments_changed = Signal()
    sig_mute_changed = Signal(str, bool)

    def __init__(
        self,
        settings: QSettings,
        *,
        organization_id: str | None = None,
        max_recent: int = MAX_RECENT,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._org = organization_id
        self._max_recent = max_recent
        self._recent: list[Notification] = []
        self._running: dict[str, str] = {}  # deployment id -> title
        self._failed: dict[tuple[str, str], str] = {}  # (stack, target) -> deployment id
        self._offline: dict[str, str] = {}  # target id -> name
        self._deployments: OrderedDict[str, DeploymentSummary] = OrderedDict()
        self._dep_keys: dict[str, tuple[str, str]] = {}  # deployment id -> (stack, target)
        self._names: dict[str, str] = {}  # object id -> name
        self._muted = {k for k in NotificationKind
                       if settings.value(f"notifications/mute/{k.value}", False, type=bool)}
        self._state = OverallState.OK

    # -- state -----------------------------------------------------------------------

    @property
    def state(self) -> OverallState:
        return self._state

    @property
    def recent(self) -> tuple[Notification, ...]:
        """Newest first."""
        return tuple(self._recent)

    @property
    def unread_count(self) -> int:
        return sum(1 for n in self._recent if not n.read)

    @property
    def last_deployments(self) -> tuple[DeploymentSummary, ...]:
        """Newest first, at most ``MAX_DEPLOYMENTS``."""
        return tuple(reversed(self._deployments.values()))

    @property
    def offline_targets(self) -> Mapping[str, str]:
        return dict(self._offline)

    def is_muted(self, kind: NotificationKind) -> bool:
        return kind in self._muted

    def set_muted(self, kind: NotificationKind, muted: bool) -> None:
        if muted == (kind in self._muted):
            return
        (self._muted.add if muted else self._muted.discard)(kind)
        self._settings.setValue(f"notifications/mute/{kind.value}", muted)
        self.sig_mute_changed.emit(kind.value, muted)

    # -- inputs ----------------------------------------------------------------------

    def set_organization(self, organization_id: str | None) -> None:
        """Follow only this organization's events (None: every event); clears the state."""
        if organization_id == self._org:
            return
        self._org = organization_id
        self._running.clear()
        self._failed.clear()
        self._offline.clear()
        self._deployments.clear()
        self._dep_keys.clear()
        self._recent.clear()
        self.sig_recent_changed.emit()
        self.sig_deployments_changed.emit()
        self._update_state()

    def remember_name(self, object_id: str, name: str) -> None:
        """Teach the name of a target, stack or deployment (from a store that knows it)."""
        if name:
            self._names[str(object_id)] = name

    def seed_target(self, target_id: str, name: str, status: str) -> None:
        """Known status of a target at start-up (so an offline one shows from the start)."""
        self.remember_name(target_id, name)
        if status in _OFFLINE:
            self._offline[str(target_id)] = name
        else:
            self._offline.pop(str(target_id), None)
        self._update_state()

    def apply_events(self, batch: Sequence[Event]) -> None:
        """An ``EventBridge`` batch: at most one pop-up, one list change, one state change."""
        fresh: list[Notification] = []
        deployments_changed = False
        for event in batch:
            if self._org is not None and event.organization_id != self._org:
                continue
            aggregate = event.aggregate_type
            if aggregate == "deployment":
                note, changed = self._on_deployment(event)
                deployments_changed |= changed
            elif aggregate == "target":
                note = self._on_target(event)
            else:
                if aggregate == "stack" and event.data.get("name"):
                    self.remember_name(event.aggregate_id, str(event.data["name"]))
                continue
            if note is not None and note.kind not in self._muted:
                fresh.append(note)
        if deployments_changed:
            self.sig_deployments_changed.emit()
        if fresh:
            fresh.reverse()
            self._recent[:0] = fresh
            del self._recent[self._max_recent:]
            self.sig_recent_changed.emit()
            self.sig_notified.emit(_grouped(fresh))
        self._update_state()

    def tell(self, note: Notification) -> None:
        """A notification that comes from no event (an updates check found something)."""
        if note.kind in self._muted:
            return
        self._recent.insert(0, note)
        del self._recent[self._max_recent:]
        self.sig_recent_changed.emit()
        self.sig_notified.emit(note)

    def mark_all_read(self) -> None:
        if not any(not n.read for n in self._recent):
            return
        self._recent = [replace(n, read=True) for n in self._recent]
        self.sig_recent_changed.emit()

    def acknowledge_failures(self) -> None:
        """The user has seen the failures: the icon stops showing them."""
        if self._failed:
            self._failed.clear()
            self._update_state()

    def clear(self) -> None:
        self._recent.clear()
        self.sig_recent_changed.emit()

    # -- event handling ----------------------------------------------------------------

    def _on_deployment(self, event: Event) -> tuple[Notification | None, bool]:
        d, dep_id = event.data, event.aggregate_id
        status = str(d.get("status") or "")
        names: DeploymentCreated | DeploymentFinished | None = None
        if event.event_type == DeploymentCreated.TYPE:
            names = DeploymentCreated.from_event(event)
        elif event.event_type == DeploymentFinished.TYPE:
            names = DeploymentFinished.from_event(event)
        if names is not None:
            for key, name in ((names.stack_id, names.stack_name),
                              (names.target_id, names.target_name)):
                if key and name:
                    self.remember_name(key, name)
            if names.stack_id or names.target_id:
                self._dep_keys[dep_id] = (names.stack_id, names.target_id)
        stack_id, target_id = self._dep_keys.get(dep_id, ("", ""))
        project = names.project if isinstance(names, DeploymentCreated) else ""
        title = self._deployment_title(dep_id, stack_id, target_id, project)
        if event.event_type in _PROGRESS_EVENTS:
            status = status or "pending"
            if status in _IN_PROGRESS:
                self._running[dep_id] = title
            else:
                self._running.pop(dep_id, None)
            return None, self._track(dep_id, title, status, event.timestamp)
        if event.event_type != "deployment.finished":
            return None, False
        self._running.pop(dep_id, None)
        changed = self._track(dep_id, title, status, event.timestamp)
        pair = (stack_id or dep_id, target_id)
        kind = _DEPLOYMENT_KINDS.get(status)
        if kind is NotificationKind.DEPLOYMENT_SUCCEEDED:
            self._failed.pop(pair, None)
        elif kind is not None:
            self._failed[pair] = dep_id
        self._dep_keys.pop(dep_id, None)
        if kind is None:  # cancelled, stopped, removed: no news
            return None, changed
        error = (names.error or "") if isinstance(names, DeploymentFinished) else ""
        # Only the words of this kind (building all three per event cost ~5 µs each).
        if kind is NotificationKind.DEPLOYMENT_SUCCEEDED:
            heading, message = "Deployment succeeded", f"{title} is up and healthy."
        elif kind is NotificationKind.DEPLOYMENT_FAILED:
            heading = "Deployment failed"
            message = f"{title} failed" + (f": {error}" if error else ".")
        else:
            heading = "Deployment rolled back"
            message = f"{title} failed and was rolled back" + (
                f": {error}" if error else " to the last good revision.")
        return Notification(kind, heading, message, "deployment", dep_id,
                            ts=event.timestamp), changed

    def _on_target(self, event: Event) -> Notification | None:
        d, target_id = event.data, event.aggregate_id
        if d.get("name"):
            self.remember_name(target_id, str(d["name"]))
        name = self._names.get(target_id, f"target {target_id[:8]}")
        if event.event_type == "target.deleted":
            self._offline.pop(target_id, None)
            return None
        if event.event_type != "target.status_changed":
            return None
        status = str(d.get("to") or "")  # what services/targets.py writes: from, to
        previous = str(d.get("from") or "")
        if status in _OFFLINE:
            self._offline[target_id] = name
            if previous in _OFFLINE:
                return None  # offline → error: still down, nothing new to say
            error = str(d.get("error") or "")
            return Notification(NotificationKind.TARGET_OFFLINE, f"{name} is offline",
                                error or f"WindFlow cannot reach {name}.", "target",
                                target_id, ts=event.timestamp)
        was_down = self._offline.pop(target_id, None) is not None or previous in _OFFLINE
        if status == "online" and was_down:
            return Notification(NotificationKind.TARGET_ONLINE, f"{name} is back online",
                                f"{name} answers again.", "target", target_id,
                                ts=event.timestamp)
        return None

    def _deployment_title(self, dep_id: str, stack_id: str, target_id: str,
                          project: str) -> str:
        """"Hello web on build box" (names from the deployment events, else from the
        stack and target events seen), else what was known, else the project."""
        stack = self._names.get(stack_id, "")
        target = self._names.get(target_id, "")
        if stack and target:
            return f"{stack} on {target}"
        known = self._deployments.get(dep_id)
        if known is not None:
            return known.title
        if stack:
            return stack
        return project or f"Deployment {dep_id[:8]}"

    def _track(self, dep_id: str, title: str, status: str, ts: datetime) -> bool:
        known = self._deployments.get(dep_id)
        if known is not None and known.status == status and known.title == title:
            return False
        self._deployments.pop(dep_id, None)
        self._deployments[dep_id] = DeploymentSummary(dep_id, title, status, ts)
        while len(self._deployments) > MAX_DEPLOYMENTS:
            self._deployments.popitem(last=False)
        return True

    def _update_state(self) -> None:
        if self._failed:
            state = OverallState.FAILURE
        elif self._offline:
            state = OverallState.TARGET_OFFLINE
        elif self._running:
            state = OverallState.DEPLOYING
        else:
            state = OverallState.OK
        if state is not self._state:
            self._state = state
            self.sig_state_changed.emit(state.value)


def _grouped(notes: Sequence[Notification]) -> Notification:
    """One notification for a batch (newest first): itself, or a summary of all."""
    if len(notes) == 1:
        return notes[0]
    worst = max(notes, key=lambda n: _RANK[n.severity])
    same = [n for n in notes if n.kind is worst.kind]
    aggregate = worst.aggregate_type
    title = f"{len(notes)} notifications"
    if len(same) == len(notes):
        title = {
            NotificationKind.DEPLOYMENT_SUCCEEDED: f"{len(notes)} deployments succeeded",
            NotificationKind.DEPLOYMENT_FAILED: f"{len(notes)} deployments failed",
            NotificationKind.DEPLOYMENT_ROLLED_BACK: f"{len(notes)} deployments rolled back",
            NotificationKind.TARGET_OFFLINE: f"{len(notes)} targets went offline",
            NotificationKind.TARGET_ONLINE: f"{len(notes)} targets are back online",
        }[worst.kind]
    lines = [n.title if n.aggregate_type == "target" else n.message for n in notes[:3]]
    if len(notes) > 3:
        lines.append(f"… and {len(notes) - 3} more")
    return Notification(worst.kind, title, "\n".join(lines), aggregate, "",
                        ts=notes[0].ts, count=len(notes))

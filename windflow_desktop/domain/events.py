"""Event envelope and event type names (``<aggregate>.<past_verb>``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .models import utcnow


@dataclass(frozen=True, slots=True)
class Event:
    event_type: str
    aggregate_type: str
    aggregate_id: str
    data: dict[str, Any] = field(default_factory=dict)
    organization_id: str | None = None
    actor_id: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: datetime = field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "timestamp": self.timestamp.isoformat(),
            "organization_id": self.organization_id,
            "actor_id": self.actor_id,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(
            event_id=str(raw["event_id"]),
            event_type=str(raw["event_type"]),
            timestamp=datetime.fromisoformat(str(raw["timestamp"])),
            organization_id=raw.get("organization_id"),
            actor_id=raw.get("actor_id"),
            aggregate_type=str(raw["aggregate_type"]),
            aggregate_id=str(raw["aggregate_id"]),
            data=dict(raw.get("data") or {}),
        )


# The event a client's bus delivers when it could not replay what it missed (a server
# that restarted without its feed): every store reloads what it shows.
CLIENT_RESYNC = "client.resync"


# -- typed payloads: one per event type, written by its producers, read by consumers -----


@dataclass(frozen=True, slots=True)
class DeploymentCreated:
    """``deployment.created``: a deployment of a stack to a target was recorded."""

    TYPE: ClassVar[str] = "deployment.created"
    stack_id: str
    target_id: str
    stack_name: str
    target_name: str
    project: str
    status: str

    def to_data(self) -> dict[str, Any]:
        return {"stack_id": self.stack_id, "target_id": self.target_id,
                "stack_name": self.stack_name, "target_name": self.target_name,
                "project": self.project, "status": self.status}

    @classmethod
    def from_event(cls, event: Event) -> DeploymentCreated:
        d = event.data
        return cls(str(d.get("stack_id") or ""), str(d.get("target_id") or ""),
                   str(d.get("stack_name") or ""), str(d.get("target_name") or ""),
                   str(d.get("project") or ""), str(d.get("status") or ""))


@dataclass(frozen=True, slots=True)
class DeploymentFinished:
    """``deployment.finished``: a deployment ended (succeeded, failed, rolled back,
    cancelled), with the error that ended it and the stage it reached."""

    TYPE: ClassVar[str] = "deployment.finished"
    status: str
    error: str | None
    stack_id: str
    target_id: str
    stack_name: str
    target_name: str
    stage: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "stack_id": self.stack_id,
                "target_id": self.target_id, "stack_name": self.stack_name,
                "target_name": self.target_name, "stage": self.stage}

    @classmethod
    def from_event(cls, event: Event) -> DeploymentFinished:
        d = event.data
        error, stage = d.get("error"), d.get("stage")
        return cls(str(d.get("status") or ""), str(error) if error else None,
                   str(d.get("stack_id") or ""), str(d.get("target_id") or ""),
                   str(d.get("stack_name") or ""), str(d.get("target_name") or ""),
                   str(stage) if stage else None)


@dataclass(frozen=True, slots=True)
class DeploymentStageChanged:
    """``deployment.stage_changed``: a deployment moved to another stage (or its stage
    records changed), with its status; ``started_at`` when the run began with it."""

    TYPE: ClassVar[str] = "deployment.stage_changed"
    status: str
    stage: str | None
    started_at: str | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "stage": self.stage}
        if self.started_at is not None:
            data["started_at"] = self.started_at
        return data

    @classmethod
    def from_event(cls, event: Event) -> DeploymentStageChanged:
        d = event.data
        stage, started = d.get("stage"), d.get("started_at")
        return cls(str(d["status"]), str(stage) if stage else None,
                   str(started) if started else None)


@dataclass(frozen=True, slots=True)
class DeploymentStatusChanged:
    """``deployment.status_changed``: a lifecycle action (stop, start, remove) changed
    the status of a finished deployment."""

    TYPE: ClassVar[str] = "deployment.status_changed"
    status: str
    action: str
    stack_id: str
    target_id: str

    def to_data(self) -> dict[str, Any]:
        return {"status": self.status, "action": self.action, "stack_id": self.stack_id,
                "target_id": self.target_id}

    @classmethod
    def from_event(cls, event: Event) -> DeploymentStatusChanged:
        d = event.data
        return cls(str(d["status"]), str(d.get("action") or ""), str(d.get("stack_id") or ""),
                   str(d.get("target_id") or ""))


LogLine = tuple[int, str, str, str]
"""(seq, timestamp in ISO 8601, stream, text) of one stored log line."""


@dataclass(frozen=True, slots=True)
class DeploymentLogBatch:
    """``deployment.log``: lines of a deployment's output, stored, in seq order."""

    TYPE: ClassVar[str] = "deployment.log"
    lines: tuple[LogLine, ...]

    def to_data(self) -> dict[str, Any]:
        return {"lines": [list(line) for line in self.lines]}

    @classmethod
    def from_event(cls, event: Event) -> DeploymentLogBatch:
        return cls(tuple((int(seq), str(ts), str(stream), str(text))
                         for seq, ts, stream, text in event.data["lines"]))


@dataclass(frozen=True, slots=True)
class TargetStatusChanged:
    """``target.status_changed``: a target went online, offline or into error."""

    TYPE: ClassVar[str] = "target.status_changed"
    name: str
    before: str
    after: str
    error: str | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "from": self.before, "to": self.after}
        if self.error:
            data["error"] = self.error
        return data

    @classmethod
    def from_event(cls, event: Event) -> TargetStatusChanged:
        d = event.data
        error = d.get("error")
        return cls(str(d.get("name") or ""), str(d.get("from") or ""), str(d["to"]),
                   str(error) if error else None)


@dataclass(frozen=True, slots=True)
class DockerObjectActed:
    """``container.started``/``stopped``/``restarted``/``removed``, ``image.pulled``/
    ``removed``: an action on one container or image (the aggregate id) of a target,
    with the target's id and name."""

    TYPES: ClassVar[frozenset[str]] = frozenset({
        "container.started", "container.stopped", "container.restarted", "container.removed",
        "image.pulled", "image.removed"})
    target_id: str
    target_name: str

    def to_data(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "target": self.target_name}

    @classmethod
    def from_event(cls, event: Event) -> DockerObjectActed:
        d = event.data
        return cls(str(d["target_id"]), str(d.get("target") or ""))


@dataclass(frozen=True, slots=True)
class DiskCleaned:
    """``volume.removed``, ``network.removed`` (the aggregate id is the volume or network)
    and ``image.pruned``, ``volume.pruned``, ``network.pruned`` (the aggregate id is the
    target): what went from a target's disk, and the bytes the engine freed."""

    TYPES: ClassVar[frozenset[str]] = frozenset({
        "volume.removed", "network.removed", "image.pruned", "volume.pruned",
        "network.pruned"})
    target_id: str
    target_name: str
    removed: tuple[str, ...] = ()
    bytes_freed: int = 0

    def to_data(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "target": self.target_name,
                "removed": list(self.removed), "bytes_freed": self.bytes_freed}

    @classmethod
    def from_event(cls, event: Event) -> DiskCleaned:
        d = event.data
        return cls(str(d["target_id"]), str(d.get("target") or ""),
                   tuple(str(n) for n in d.get("removed") or ()), int(d.get("bytes_freed") or 0))


@dataclass(frozen=True, slots=True)
class ShellOpened:
    """``container.shell_opened``: someone (the event's actor) opened an interactive shell
    in a container (the aggregate id) of a target. What was typed is never recorded."""

    TYPE: ClassVar[str] = "container.shell_opened"
    target_id: str
    target_name: str
    shell: str

    def to_data(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "target": self.target_name, "shell": self.shell}

    @classmethod
    def from_event(cls, event: Event) -> ShellOpened:
        d = event.data
        return cls(str(d["target_id"]), str(d.get("target") or ""), str(d["shell"]))


NOT_AUDITED = frozenset({DeploymentLogBatch.TYPE, DeploymentStageChanged.TYPE,
                         DeploymentStatusChanged.TYPE})
"""Published for the windows, never written to the audit trail (progress, not history)."""

PAYLOADS: dict[str, Any] = {cls.TYPE: cls for cls in (
    DeploymentCreated, DeploymentFinished, DeploymentStageChanged, DeploymentStatusChanged,
    DeploymentLogBatch, TargetStatusChanged, ShellOpened)}
PAYLOADS.update(dict.fromkeys(DockerObjectActed.TYPES, DockerObjectActed))
PAYLOADS.update(dict.fromkeys(DiskCleaned.TYPES, DiskCleaned))


def well_formed(event: Event) -> bool:
    """Whether ``event`` carries the payload its type promises (types without a payload
    class yet pass)."""
    payload = PAYLOADS.get(event.event_type)
    if payload is None:
        return True
    try:
        payload.from_event(event)
    except (KeyError, TypeError, ValueError):
        return False
    return True

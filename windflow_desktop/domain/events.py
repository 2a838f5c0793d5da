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

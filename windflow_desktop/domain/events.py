"""Event envelope and event type names (``<aggregate>.<past_verb>``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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

"""What the Activity view and the dashboard show: audit entries with their actors, the
filters that select them, and the dashboard's summary (value types; the services fill
them, the stores hold them, a server sends them as JSON)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .enums import DeploymentStage, DeploymentStatus, TargetKind, TargetStatus
from .errors import ValidationError


@dataclass(frozen=True)
class ActivityFilters:
    """What to show. ``type_prefix`` is ``"deployment."`` for a whole aggregate or a full
    event type; ``aggregate_id`` is one object; ``since`` a lower time bound (inclusive)."""

    type_prefix: str | None = None
    actor_id: uuid.UUID | None = None
    aggregate_id: str | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.type_prefix is not None and len(self.type_prefix) > 100:
            raise ValidationError("the event type filter is too long", field="type_prefix")
        if self.aggregate_id is not None and len(self.aggregate_id) > 100:
            raise ValidationError("the object filter is too long", field="aggregate_id")

    @property
    def active(self) -> bool:
        return any(v is not None for v in
                   (self.type_prefix, self.actor_id, self.aggregate_id, self.since))


@dataclass(frozen=True)
class ActivityEntry:
    """One audit event as the Activity view shows it (``actor_name`` is "" for the system)."""

    id: str
    ts: datetime
    type: str
    aggregate_type: str
    aggregate_id: str
    actor_id: uuid.UUID | None
    actor_name: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Actor:
    """Someone who may appear in the trail (a member of the organization)."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class TargetCounts:
    online: int = 0
    offline: int = 0
    error: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.online + self.offline + self.error + self.unknown

    @classmethod
    def of(cls, by_status: Mapping[TargetStatus, int]) -> TargetCounts:
        return cls(**{s.value: int(by_status.get(s, 0)) for s in TargetStatus})


@dataclass(frozen=True)
class RecentDeployment:
    """A deployment as the dashboard lists it (plain values, names resolved)."""

    id: uuid.UUID
    stack_id: uuid.UUID
    stack_name: str
    target_id: uuid.UUID
    target_name: str
    status: DeploymentStatus
    stage: DeploymentStage | None
    created_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class TargetHealth:
    id: uuid.UUID
    name: str
    kind: TargetKind
    host: str
    status: TargetStatus
    last_seen: datetime | None


@dataclass(frozen=True)
class DashboardSummary:
    """Everything the dashboard shows, as of ``generated_at``."""

    organization_id: uuid.UUID
    generated_at: datetime
    targets: TargetCounts = field(default_factory=TargetCounts)
    stacks: int = 0
    deployments_running: int = 0
    failed_24h: int = 0
    succeeded_24h: int = 0
    recent_deployments: tuple[RecentDeployment, ...] = ()
    health: tuple[TargetHealth, ...] = ()
    activity: tuple[ActivityEntry, ...] = ()

"""What a batch of live events means for the deployments ``DeploymentsStore`` holds —
worked out without I/O (and without Qt): the rows whose status or stage changed
(``deployment.stage_changed``/``finished``/``status_changed`` carry the new ones), the
deployments created elsewhere, the selected deployment's new log lines and whether a
target changed. The store then applies that effect (and fetches what it must).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..domain.enums import DeploymentStage, DeploymentStatus, LogStream
from ..domain.events import (
    DeploymentFinished,
    DeploymentLogBatch,
    DeploymentStageChanged,
    DeploymentStatusChanged,
    Event,
)
from ..domain.models import Deployment


@dataclasses.dataclass(frozen=True)
class LogRow:
    """A log line from an event (plain: no database instrumentation on the hot path)."""

    deployment_id: uuid.UUID
    seq: int
    line: str
    stream: LogStream
    ts: datetime


@dataclasses.dataclass
class BatchEffect:
    """What one batch changes: ``changed`` (updated rows, by id; the selected deployment
    among them even when it is not a row), ``created`` (ids not yet among the rows),
    ``log_lines`` (of the selected deployment, as they came) and ``targets_changed``."""

    changed: dict[uuid.UUID, Deployment] = dataclasses.field(default_factory=dict)
    created: list[uuid.UUID] = dataclasses.field(default_factory=list)
    log_lines: list[LogRow] = dataclasses.field(default_factory=list)
    targets_changed: bool = False


def read_batch(batch: Sequence[Event], organization_id: str,
               rows: Mapping[uuid.UUID, Deployment],
               selected: Deployment | None) -> BatchEffect:
    """The effect of ``batch`` (events of other organizations are skipped) on ``rows``
    (the rows held, by id) and the ``selected`` deployment."""
    effect = BatchEffect()
    selected_id = selected.id if selected is not None else None
    for event in batch:
        if event.organization_id != organization_id:
            continue
        if event.aggregate_type == "target":
            effect.targets_changed = True
            continue
        if event.aggregate_type != "deployment":
            continue
        dep_id = uuid.UUID(event.aggregate_id)
        if event.event_type == "deployment.log":
            if dep_id == selected_id:
                effect.log_lines.extend(log_row(dep_id, raw)
                                        for raw in DeploymentLogBatch.from_event(event).lines)
            continue
        if event.event_type == "deployment.created":
            if dep_id not in rows:
                effect.created.append(dep_id)
            continue
        row = effect.changed.get(dep_id) or rows.get(dep_id)
        if row is None and dep_id != selected_id:
            continue
        base = row or selected
        assert base is not None
        effect.changed[dep_id] = apply_event(base, event)
    return effect


def apply_event(dep: Deployment, event: Event) -> Deployment:
    """``dep`` as a status/stage event of it says it is now."""
    changes: dict[str, Any] = {}
    if event.event_type == DeploymentFinished.TYPE:
        finished = DeploymentFinished.from_event(event)
        changes.update(status=DeploymentStatus(finished.status), error=finished.error,
                       finished_at=event.timestamp)
        if finished.stage:
            changes["stage"] = DeploymentStage(finished.stage)
    elif event.event_type == DeploymentStageChanged.TYPE:
        moved = DeploymentStageChanged.from_event(event)
        changes["status"] = DeploymentStatus(moved.status)
        if moved.stage:
            changes["stage"] = DeploymentStage(moved.stage)
        if moved.started_at:
            changes["started_at"] = datetime.fromisoformat(moved.started_at)
    elif event.event_type == DeploymentStatusChanged.TYPE:
        changes["status"] = DeploymentStatus(DeploymentStatusChanged.from_event(event).status)
    if changes.get("status") in (DeploymentStatus.PENDING, DeploymentStatus.RUNNING):
        changes["error"] = changes["finished_at"] = None  # running again (a watch's rollback)
    return dataclasses.replace(dep, **changes)


def log_row(dep_id: uuid.UUID, raw: Sequence[Any]) -> LogRow:
    """One line of a ``deployment.log`` event: (seq, ts, stream, line)."""
    seq, ts, stream, line = raw
    return LogRow(dep_id, int(seq), str(line), LogStream(stream),
                  datetime.fromisoformat(str(ts)))

"""What the job queue's report says (server mode): the workers alive with their last
heartbeat, the jobs queued / running / dead, and the caller's organization's dead jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class WorkerBeat:
    name: str  # host:pid:nonce
    last_beat: datetime


@dataclass(frozen=True)
class DeadJob:
    id: str
    deployment_id: uuid.UUID
    reason: str
    deliveries: int


@dataclass(frozen=True)
class WorkersReport:
    queue: bool  # False: deployments run in the process that asked (no workers)
    workers: tuple[WorkerBeat, ...] = ()
    queued: int = 0
    running: int = 0
    dead: int = 0
    dead_jobs: tuple[DeadJob, ...] = field(default=())

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> WorkersReport:
        """From the deployments service's ``workers()`` answer (and its JSON)."""
        beats = sorted((WorkerBeat(str(name), datetime.fromtimestamp(float(at), UTC))
                        for name, at in dict(data.get("workers") or {}).items()),
                       key=lambda w: w.name)
        dead = tuple(DeadJob(str(d["id"]), uuid.UUID(str(d["deployment_id"])),
                             str(d.get("reason", "")), int(d.get("deliveries", 0)))
                     for d in data.get("dead_jobs") or ())
        return cls(bool(data.get("queue")), tuple(beats), int(data.get("queued", 0)),
                   int(data.get("running", 0)), int(data.get("dead", 0)), dead)

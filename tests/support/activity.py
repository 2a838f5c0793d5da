"""Realistic audit trails and live events for the Activity and notification tests, the
benchmark and the screenshots."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from windflow_desktop.domain.events import Event
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.repositories.sql.tables import audit_events

STACKS = ("shop-api", "billing", "grafana", "nginx-edge", "postgres-main", "redis-cache")
TARGETS = ("web-01", "web-02", "db-01", "edge-fra", "edge-nyc", "this computer")


def audit_rows(org_id: uuid.UUID, actor_ids: Sequence[uuid.UUID | None], count: int,
               *, newest: datetime | None = None) -> list[dict[str, Any]]:
    """``count`` varied audit rows, one a minute back from ``newest``."""
    newest = newest or datetime.now(UTC)
    rows = []
    for i in range(count):
        stack, target = STACKS[i % len(STACKS)], TARGETS[(i // 2) % len(TARGETS)]
        kind = i % 7
        if kind in (0, 1):
            status = ("succeeded", "succeeded", "failed", "rolled_back")[(i // 7) % 4]
            ev = ("deployment.finished", "deployment", f"dep-{i:06d}",
                  {"status": status, "project": f"{stack}-{target}",
                   "error": "health check timed out" if status != "succeeded" else None})
        elif kind == 2:
            ev = ("deployment.created", "deployment", f"dep-{i:06d}",
                  {"project": f"{stack}-{target}", "status": "pending"})
        elif kind == 3:
            to = "offline" if (i // 7) % 2 else "online"
            ev = ("target.status_changed", "target", f"target-{target}",
                  {"name": target, "from": "online" if to == "offline" else "offline",
                   "to": to})
        elif kind == 4:
            ev = ("stack.revised", "stack", f"stack-{stack}",
                  {"name": stack, "revision": i // 7 + 1})
        elif kind == 5:
            ev = ("target.scanned", "target", f"target-{target}", {"name": target})
        else:
            ev = ("user.logged_in", "user", str(actor_ids[0]), {"username": "ada"})
        event_type, aggregate_type, aggregate_id, data = ev
        actor = None if event_type == "target.status_changed" else \
            actor_ids[i % len(actor_ids)]
        rows.append({
            "id": uuid.uuid4(), "organization_id": org_id, "actor_id": actor,
            "type": event_type, "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id, "data": data,
            "ts": newest - timedelta(minutes=i),
        })
    return rows


async def seed_audit(backend: SqlBackend, rows: list[dict[str, Any]]) -> None:
    async with backend.engine.begin() as conn:
        await conn.execute(insert(audit_events), rows)


def live_events(org_id: uuid.UUID | str, count: int, *, start: int = 0,
                actor_id: str | None = None) -> list[Event]:
    """Audited events as services publish them (deployments finishing, targets flapping)."""
    events = []
    for n in range(start, start + count):
        if n % 4 == 3:
            target = TARGETS[n % len(TARGETS)]
            events.append(Event("target.status_changed", "target", f"target-{target}",
                                {"name": target, "from": "online", "to": "offline"},
                                organization_id=str(org_id)))
        else:
            status = ("succeeded", "failed", "rolled_back")[n % 3]
            events.append(Event("deployment.finished", "deployment", f"live-{n:06d}",
                                {"status": status, "stack_id": "s", "target_id": "t",
                                 "error": None if status == "succeeded" else "exit 1"},
                                organization_id=str(org_id), actor_id=actor_id))
    return events

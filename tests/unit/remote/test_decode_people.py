"""The dashboard's and the activity's value types survive ``plain`` → JSON → ``decode``."""

from __future__ import annotations

import json
import uuid

from windflow_desktop.domain.activity import (
    ActivityEntry,
    Actor,
    DashboardSummary,
    RecentDeployment,
    TargetCounts,
    TargetHealth,
)
from windflow_desktop.domain.enums import DeploymentStatus, TargetKind, TargetStatus
from windflow_desktop.domain.models import utcnow
from windflow_desktop.remote.decode import decode
from windflow_desktop.server.serialize import plain


def test_a_dashboard_summary_round_trips() -> None:
    entry = ActivityEntry("7", utcnow(), "stack.created", "stack", "s1", uuid.uuid4(), "olga",
                          {"name": "Web", "n": 2})
    summary = DashboardSummary(
        uuid.uuid4(), utcnow(), TargetCounts(online=2, error=1), stacks=3,
        deployments_running=1, failed_24h=1, succeeded_24h=4,
        recent_deployments=(RecentDeployment(uuid.uuid4(), uuid.uuid4(), "Web", uuid.uuid4(),
                                             "box", DeploymentStatus.FAILED, None, utcnow(),
                                             None, "boom"),),
        health=(TargetHealth(uuid.uuid4(), "box", TargetKind.SSH, "10.0.0.1",
                             TargetStatus.ERROR, None),),
        activity=(entry,))
    assert decode(DashboardSummary, json.loads(json.dumps(plain(summary)))) == summary
    actor = Actor(uuid.uuid4(), "Vera")
    assert decode(tuple[Actor, ...], json.loads(json.dumps(plain((actor,))))) == (actor,)

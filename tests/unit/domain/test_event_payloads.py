"""Typed event payloads: each survives ``to_data`` → event → ``from_event``; a consumer
module reads event data only through them (no raw keys outside ``domain/events.py``);
a malformed payload is told apart (the server does not relay it)."""

from __future__ import annotations

import re
from pathlib import Path

from windflow_desktop.domain.events import (
    NOT_AUDITED,
    PAYLOADS,
    DeploymentCreated,
    DeploymentFinished,
    DeploymentLogBatch,
    DeploymentStageChanged,
    DeploymentStatusChanged,
    DiskCleaned,
    DockerObjectActed,
    Event,
    ShellOpened,
    TargetStatusChanged,
    well_formed,
)

SAMPLES = [
    DeploymentCreated("s", "t", "Shop", "box", "wf-shop-0123abcd", "pending"),
    DeploymentFinished("failed", "boom", "s", "t", "Shop", "box", "health"),
    DeploymentStageChanged("running", "pull", "2026-12-05T10:00:00+00:00"),
    DeploymentStageChanged("succeeded", None),
    DeploymentStatusChanged("stopped", "stop", "s", "t"),
    DeploymentLogBatch(((1, "2026-12-05T10:00:00+00:00", "stdout", "hello"),)),
    TargetStatusChanged("box", "online", "offline", "timed out"),
    DockerObjectActed("t", "box"),
    DiskCleaned("t", "box", ("old:1", "cache"), 10240),
    ShellOpened("t", "box", "sh"),
]
PACKAGE = Path(__file__).resolve().parents[3] / "windflow_desktop"


def test_every_payload_comes_back_from_its_event() -> None:
    assert {type(s) for s in SAMPLES} == set(PAYLOADS.values())
    for sample in SAMPLES:
        for event_type in getattr(type(sample), "TYPES", None) or {sample.TYPE}:
            event = Event(event_type, "deployment", "x", sample.to_data())
            assert type(sample).from_event(event) == sample
            assert well_formed(event)


def test_a_malformed_payload_is_told_apart() -> None:
    assert not well_formed(Event("deployment.log", "deployment", "x", {"lines": [[1, 2]]}))
    assert not well_formed(Event("target.status_changed", "target", "x", {"status": "up"}))
    assert not well_formed(Event("deployment.stage_changed", "deployment", "x", {}))
    assert not well_formed(Event("container.stopped", "container", "c", {"target": "box"}))
    assert well_formed(Event("stack.created", "stack", "x", {"name": "any"}))  # untyped yet


def test_progress_events_are_the_unaudited_ones() -> None:
    assert {"deployment.log", "deployment.stage_changed",
                           "deployment.status_changed"} == NOT_AUDITED


def test_the_stores_read_typed_event_data_only() -> None:
    """The deployments and dashboard stores, which consume deployment and target events
    only, read no event data but through the payload classes (the drift the review found
    was there); elsewhere no raw read of those types' keys is left."""
    for name in ("deployments.py", "dashboard.py", "containers.py"):
        text = (PACKAGE / "stores" / name).read_text()
        raw_read = r"\b(e|ev|event)\.data(\[|\.get\(|$)|= (e|ev|event)\.data\b"
        assert not re.search(raw_read, text, re.M), name
    raw = re.compile(r'event\.data\.get\("(to|from|status|stage|lines|started_at)"|'
                     r'event\.data\[\"(to|from|status|stage|lines|started_at)\"\]')
    offenders = [f"{path.name}:{n}" for path in (PACKAGE / "stores").glob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if raw.search(line)]
    assert offenders == []

"""What a batch of live events changes for the deployments store, read without I/O:
status/stage updates of held rows and of the selected deployment, creations elsewhere,
the selected deployment's log lines, target changes — and nothing of another org."""

from __future__ import annotations

import dataclasses
import uuid

from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, LogStream
from windflow_desktop.domain.events import (
    DeploymentFinished,
    DeploymentLogBatch,
    DeploymentStageChanged,
    Event,
)
from windflow_desktop.domain.models import Deployment
from windflow_desktop.stores.deployment_events import read_batch

ORG = uuid.uuid4()


def _dep(status: DeploymentStatus = DeploymentStatus.RUNNING) -> Deployment:
    return Deployment(organization_id=ORG, stack_id=uuid.uuid4(), revision_id=uuid.uuid4(),
                      target_id=uuid.uuid4(), project_name="wf-web-0123abcd", status=status)


def _event(event_type: str, dep_id: uuid.UUID, data: dict[str, object],
           org: uuid.UUID = ORG, aggregate: str = "deployment") -> Event:
    return Event(event_type, aggregate, str(dep_id), dict(data), organization_id=str(org))


def _stage(dep_id: uuid.UUID, status: str, stage: str) -> Event:
    return _event(DeploymentStageChanged.TYPE, dep_id,
                  DeploymentStageChanged(status, stage).to_data())


def test_updates_rows_and_the_selection_in_order() -> None:
    row, chosen, stranger = _dep(), _dep(), _dep()
    finished = DeploymentFinished("failed", "boom", "s", "t", "Web", "Host", "up")
    effect = read_batch(
        [_stage(row.id, "running", "pull"),
         _event(DeploymentFinished.TYPE, row.id, finished.to_data()),
         _stage(chosen.id, "running", "up"),
         _stage(stranger.id, "running", "up")],  # neither a row nor selected
        str(ORG), {row.id: row}, chosen)
    assert set(effect.changed) == {row.id, chosen.id}
    done = effect.changed[row.id]
    assert (done.status, done.stage, done.error) == (DeploymentStatus.FAILED,
                                                       DeploymentStage.UP, "boom")
    assert done.finished_at is not None
    assert effect.changed[chosen.id].stage is DeploymentStage.UP
    assert not effect.created and not effect.log_lines and not effect.targets_changed


def test_running_again_clears_the_error() -> None:
    row = dataclasses.replace(_dep(DeploymentStatus.FAILED), error="old")
    effect = read_batch([_stage(row.id, "running", "validate")], str(ORG), {row.id: row}, None)
    again = effect.changed[row.id]
    assert again.status is DeploymentStatus.RUNNING and again.error is None


def test_log_lines_of_the_selection_creations_and_targets() -> None:
    chosen, other, known = _dep(), _dep(), _dep()
    fresh = uuid.uuid4()
    lines = DeploymentLogBatch(((7, "2026-12-05T21:00:00+00:00", "stdout", "pulled"),))
    effect = read_batch(
        [_event(DeploymentLogBatch.TYPE, chosen.id, lines.to_data()),
         _event(DeploymentLogBatch.TYPE, other.id, lines.to_data()),  # not shown
         _event("deployment.created", fresh, {}),
         _event("deployment.created", known.id, {}),  # already a row
         _event("target.status_changed", uuid.uuid4(), {}, aggregate="target"),
         _event("deployment.created", uuid.uuid4(), {}, org=uuid.uuid4())],  # another org
        str(ORG), {known.id: known}, chosen)
    assert effect.created == [fresh]
    assert effect.targets_changed
    assert [(x.deployment_id, x.seq, x.line, x.stream) for x in effect.log_lines] == [
        (chosen.id, 7, "pulled", LogStream.STDOUT)]
    assert not effect.changed


def test_another_organizations_events_change_nothing() -> None:
    row = _dep()
    effect = read_batch([_event("target.status_changed", uuid.uuid4(), {},
                                org=uuid.uuid4(), aggregate="target"),
                         _event(DeploymentStageChanged.TYPE, row.id,
                                DeploymentStageChanged("running", "up").to_data(),
                                org=uuid.uuid4())],
                        str(ORG), {row.id: row}, row)
    assert effect == type(effect)()

"""The deployment flow table, by hand-written cases: the standing of a deployment against
the holder of its stack on its target, what each (status, standing) may do next, how a
row words its status, and why an action is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from windflow_desktop.domain.deployment_flow import (
    HOLDS,
    TRANSITIONS,
    Action,
    Standing,
    allowed,
    may_move,
    refusal,
    standing,
    status_text,
)
from windflow_desktop.domain.enums import DeploymentStatus as S
from windflow_desktop.domain.models import Deployment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STACK, TARGET = uuid.uuid4(), uuid.uuid4()


def dep(minute: int, status: S, *, naive: bool = False) -> Deployment:
    at = T0 + timedelta(minutes=minute)
    return Deployment(organization_id=uuid.uuid4(), stack_id=STACK, revision_id=uuid.uuid4(),
                      target_id=TARGET, project_name="wf-web-0123abcd", status=status,
                      created_at=at.replace(tzinfo=None) if naive else at)


def test_standing_against_the_holder() -> None:
    ok = dep(1, S.SUCCEEDED)
    rolled_back = dep(2, S.ROLLED_BACK)
    older = dep(0, S.SUCCEEDED)
    # after an automatic rollback the succeeded one is the holder; the attempt did not take
    assert standing(ok, ok) is Standing.CURRENT
    assert standing(rolled_back, ok) is Standing.DID_NOT_TAKE
    assert standing(older, ok) is Standing.SUPERSEDED
    # after a removal, what came before is gone and a later failure leaves leftovers only
    removed = dep(3, S.REMOVED)
    assert standing(ok, removed) is Standing.REMOVED_SINCE
    assert standing(dep(4, S.FAILED), removed) is Standing.NOTHING_RUNS
    # nothing ever held the project (a first deployment failed)
    assert standing(dep(0, S.FAILED), None) is Standing.NOTHING_RUNS
    # naive (SQLite) and aware times compare
    assert standing(dep(0, S.SUCCEEDED, naive=True), ok) is Standing.SUPERSEDED


def test_who_can_hold_a_project() -> None:
    assert set(HOLDS) == {S.PENDING, S.RUNNING, S.SUCCEEDED, S.STOPPED, S.REMOVED}


@pytest.mark.parametrize(("status", "where", "expected"), [
    # what runs can always be stopped (or started again) and removed
    (S.SUCCEEDED, Standing.CURRENT, {"stop", "remove", "redeploy"}),
    (S.STOPPED, Standing.CURRENT, {"start", "remove", "redeploy"}),
    (S.REMOVED, Standing.CURRENT, {"redeploy"}),
    # older good ones can be rolled back to, nothing else acts on the project through them
    (S.SUCCEEDED, Standing.SUPERSEDED, {"redeploy", "rollback"}),
    (S.STOPPED, Standing.SUPERSEDED, {"redeploy", "rollback"}),
    (S.FAILED, Standing.SUPERSEDED, {"redeploy"}),
    # a project that was removed since: only deploying again can work
    (S.SUCCEEDED, Standing.REMOVED_SINCE, {"redeploy"}),
    (S.STOPPED, Standing.REMOVED_SINCE, {"redeploy"}),
    # the rolled-back attempt: the one before it runs and is the one to act on
    (S.ROLLED_BACK, Standing.DID_NOT_TAKE, {"redeploy"}),
    (S.FAILED, Standing.DID_NOT_TAKE, {"redeploy"}),
    # nothing runs: the leftovers (volumes, files) can be removed
    (S.FAILED, Standing.NOTHING_RUNS, {"redeploy", "remove"}),
    (S.CANCELLED, Standing.NOTHING_RUNS, {"redeploy", "remove"}),
    # an unfinished one can only be cancelled, wherever it stands
    (S.RUNNING, Standing.CURRENT, {"cancel"}),
    (S.PENDING, Standing.DID_NOT_TAKE, {"cancel"}),
])
def test_allowed_actions(status: S, where: Standing, expected: set[str]) -> None:
    assert {a.value for a in allowed(status, where)} == expected


def test_rows_that_no_longer_run_say_so() -> None:
    assert status_text(S.SUCCEEDED, Standing.CURRENT) == "succeeded"
    assert status_text(S.SUCCEEDED, Standing.SUPERSEDED) == "superseded"
    assert status_text(S.STOPPED, Standing.SUPERSEDED) == "superseded"
    assert status_text(S.SUCCEEDED, Standing.REMOVED_SINCE) == "removed"
    assert status_text(S.ROLLED_BACK, Standing.DID_NOT_TAKE) == "rolled back"
    assert status_text(S.FAILED, Standing.REMOVED_SINCE) == "failed"


def test_refusals_say_why_and_what_to_do() -> None:
    text = refusal(Action.STOP, S.SUCCEEDED, Standing.SUPERSEDED)
    assert "newer deployment" in text and "current" in text
    assert "removed" in refusal(Action.STOP, S.SUCCEEDED, Standing.REMOVED_SINCE)
    assert "wait for it or cancel it" in refusal(Action.STOP, S.RUNNING, Standing.CURRENT)
    assert refusal(Action.START, S.SUCCEEDED, Standing.CURRENT) == \
        "cannot start a deployment that is succeeded"


def test_every_status_has_its_moves_and_finished_ones_only_end_removed() -> None:
    assert set(TRANSITIONS) == set(S)
    for status in (S.FAILED, S.ROLLED_BACK,
                   S.CANCELLED):
        assert TRANSITIONS[status] == {S.REMOVED}
    assert may_move(S.SUCCEEDED, S.RUNNING)  # the watch
    assert not may_move(S.REMOVED, S.RUNNING)
    assert may_move(S.REMOVED, S.REMOVED)

"""What a deployment may do next: the one table that the deployments service (which
refuses) and the Deployments page (which enables buttons and words a row) both ask.

A deployment's next actions depend on its status and on its *standing*: whether it is
the deployment that describes what its stack's project is on its target now. That one,
the *holder*, is the newest deployment of the stack on the target that took the project
over: pending or running (taking it over), succeeded, stopped or removed. A failed,
rolled-back or cancelled attempt never holds it: after a rollback the previous revision
serves again, so the succeeded deployment before the attempt is the one to stop.

No I/O, no Qt: callers find the holder (one query, or the rows they have) and pass it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from .enums import ACTIVE_DEPLOYMENT, DeploymentStatus
from .errors import ConflictError
from .models import Deployment


class StageName(StrEnum):
    """The stage records that follow a run's own stages (``DeploymentStage``: preflight
    to done), the record of each lifecycle action under its ``Action`` name."""

    WATCH = "watch"          # the checks after success
    ROLLBACK = "rollback"    # the last good revision back, or the project taken down
    RECONCILE = "reconcile"  # settled after the process that ran it died


class StageOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # asked to stop; nothing changed after it
    STOPPED = "stopped"      # a watch ended by a newer action or by quitting


_P, _RU, _SU, _FA, _RB, _CA, _ST, _RM = (
    DeploymentStatus.PENDING, DeploymentStatus.RUNNING, DeploymentStatus.SUCCEEDED,
    DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK, DeploymentStatus.CANCELLED,
    DeploymentStatus.STOPPED, DeploymentStatus.REMOVED)
TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    _P: frozenset({_RU, _FA, _CA}),       # it starts; or never reached the target
    _RU: frozenset({_SU, _FA, _RB, _CA}),  # the run's outcome
    _SU: frozenset({_RU, _ST, _RM}),       # running again while its watch rolls it back
    _ST: frozenset({_SU, _RM}),            # started again (healthy), or removed
    _FA: frozenset({_RM}),                 # leftovers removed
    _RB: frozenset({_RM}),
    _CA: frozenset({_RM}),
    _RM: frozenset(),                      # a redeploy is a new deployment
}
"""The status moves a deployment may make; the journal refuses any other."""


def may_move(old: DeploymentStatus, new: DeploymentStatus) -> bool:
    return old == new or new in TRANSITIONS[old]


class Action(StrEnum):
    REDEPLOY = "redeploy"   # deploy the same revision again, with the same values
    ROLLBACK = "rollback"   # re-apply this earlier deployment instead of what runs
    CANCEL = "cancel"       # ask a pending/running deployment to stop
    STOP = "stop"           # stop the project's containers
    START = "start"         # start them again
    REMOVE = "remove"       # take the project down and delete its files


class Standing(StrEnum):
    """Where a deployment stands against the holder of its stack on its target."""

    CURRENT = "current"              # it is the holder
    SUPERSEDED = "superseded"        # older than the holder, which still exists
    REMOVED_SINCE = "removed_since"  # older than the holder, which removed the project
    DID_NOT_TAKE = "did_not_take"    # a later attempt that failed; the holder still runs
    NOTHING_RUNS = "nothing_runs"    # an attempt, and no project runs (none ever did,
    #                                  or it was removed before): leftovers may be removed


# Statuses with which a deployment takes its project over (see the module docstring).
HOLDS = (*ACTIVE_DEPLOYMENT, DeploymentStatus.SUCCEEDED, DeploymentStatus.STOPPED,
         DeploymentStatus.REMOVED)
_APPLIED = (DeploymentStatus.SUCCEEDED, DeploymentStatus.STOPPED)

_R, _B, _S, _T, _X = Action.REDEPLOY, Action.ROLLBACK, Action.STOP, Action.START, Action.REMOVE
_TABLE: dict[Standing, dict[DeploymentStatus, frozenset[Action]]] = {
    Standing.CURRENT: {
        DeploymentStatus.SUCCEEDED: frozenset({_S, _X, _R}),
        DeploymentStatus.STOPPED: frozenset({_T, _X, _R}),
        DeploymentStatus.REMOVED: frozenset({_R}),
    },
    Standing.SUPERSEDED: {
        DeploymentStatus.SUCCEEDED: frozenset({_R, _B}),
        DeploymentStatus.STOPPED: frozenset({_R, _B}),
    },
}
# Whatever the status (a finished one), by standing, when the table above has no entry.
_OTHERWISE: dict[Standing, frozenset[Action]] = {
    Standing.CURRENT: frozenset({_R}),
    Standing.SUPERSEDED: frozenset({_R}),
    Standing.REMOVED_SINCE: frozenset({_R}),
    Standing.DID_NOT_TAKE: frozenset({_R}),
    Standing.NOTHING_RUNS: frozenset({_R, _X}),
}

_WHY = {
    Standing.SUPERSEDED: "a newer deployment of this stack has replaced it on this target",
    Standing.REMOVED_SINCE: "the project was removed from this target after it",
    Standing.DID_NOT_TAKE: "it did not take: the deployment before it is what runs",
    Standing.NOTHING_RUNS: "nothing of it runs on this target",
}


def standing(dep: Deployment, holder: Deployment | None) -> Standing:
    """``dep``'s standing, given the holder of its stack on its target (None: none)."""
    if holder is not None and holder.id == dep.id:
        return Standing.CURRENT
    live = holder is not None and holder.status is not DeploymentStatus.REMOVED
    if holder is not None and _order(dep) < _order(holder):
        return Standing.SUPERSEDED if live else Standing.REMOVED_SINCE
    return Standing.DID_NOT_TAKE if live else Standing.NOTHING_RUNS


def _order(dep: Deployment) -> tuple[datetime, str]:
    moment = dep.created_at  # SQLite hands back naive UTC; events and new rows are aware
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), str(dep.id)


def allowed(status: DeploymentStatus, where: Standing) -> frozenset[Action]:
    """What a deployment with ``status`` and standing ``where`` may do next."""
    if status in ACTIVE_DEPLOYMENT:
        return frozenset({Action.CANCEL})
    return _TABLE.get(where, {}).get(status, _OTHERWISE[where])


def status_text(status: DeploymentStatus, where: Standing) -> str:
    """The status as a row shows it: a deployment that succeeded but no longer describes
    what runs says so instead of looking live."""
    if status in _APPLIED and where is Standing.SUPERSEDED:
        return "superseded"
    if status in _APPLIED and where is Standing.REMOVED_SINCE:
        return "removed"
    return status.value.replace("_", " ")


def refusal(action: Action, status: DeploymentStatus, where: Standing) -> str:
    """Why ``action`` is not allowed (for a ``ConflictError``); says what to do instead."""
    if status in ACTIVE_DEPLOYMENT:
        return f"the deployment is {status.value}: wait for it or cancel it"
    why = _WHY.get(where)
    if why is not None and action in (Action.STOP, Action.START, Action.REMOVE,
                                      Action.ROLLBACK):
        hint = " — act on the deployment marked as current" \
            if where in (Standing.SUPERSEDED, Standing.DID_NOT_TAKE) else ""
        return f"cannot {action.value} this deployment: {why}{hint}"
    return f"cannot {action.value} a deployment that is {status.value.replace('_', ' ')}"


def require(action: Action, dep: Deployment, holder: Deployment | None) -> None:
    """Raise ``ConflictError`` (saying why) unless ``dep`` may do ``action`` as it stands
    against ``holder``."""
    where = standing(dep, holder)
    if action not in allowed(dep.status, where):
        raise ConflictError(refusal(action, dep.status, where))


@dataclass
class Rollout:
    """The deployments one request created, and the task that runs them."""

    deployments: list[Deployment]
    task: asyncio.Task[list[Deployment]] | None = field(default=None, repr=False)

    async def wait(self) -> list[Deployment]:
        """Their states once their pipelines ended, in the order of the request. A
        succeeded one may still be rolled back by the watch that follows its success
        (``DeploymentCore.watching``); a staged rollout waits for each wave's watch."""
        if self.task is None:
            return self.deployments
        return await asyncio.shield(self.task)

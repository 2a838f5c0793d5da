"""RBAC matrix of the resource services: every public method of targets, stacks,
deployments, containers, activity and dashboard x every role (and a superuser holding the
viewer or the owner role) x own vs other organization, on SQLite and PostgreSQL (the
``backend`` fixture). The users and organizations rows are in ``test_rbac_matrix.py``.

``TABLE`` is written out by hand, one row per ``"<service>.<method>"``: the lowest role
allowed in its own organization, what an allowed call gets there, and what it gets when
aimed at the other organization (by a member, and by a superuser). A role below the
lowest one gets ``PermissionDeniedError`` everywhere: the permission is checked before any
object is looked up. Nothing here is derived from ``domain/permissions.py``.

How a call aims at the other organization is part of its row's call (``OTHER``):
- ``object``: the actor, acting in its own organization, names the other organization's
  objects by id. Those are deliberately not found (``NotFoundError``, the same answer as
  for an id that never existed, so ids of other organizations cannot be probed) — for a
  superuser too: ``*:read_all`` applies to the organization one acts in.
- ``org``: the method's ``organization_id`` argument names the other organization:
  ``PermissionDeniedError``, except a superuser's reads (``*:read_all``).
- ``member``: methods without an object or organization argument (lists, creates) are
  called with a principal that names the other organization where the actor is no member
  (a stale or forged principal): denied, except a superuser's reads.

Calls that reach a target stop at targets that refuse connections (see
``rbac_support``): ``UNREACHABLE`` (``TargetUnreachableError``) means the call was
authorized and went on to the target; ``STARTED`` means a deployment was recorded and its
pipeline ran (it failed at the target); ``CONFLICT`` means the state check after the
authorization answered (``cancel`` of a deployment this process does not run).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.rbac import COMPOSE, OrgSeed, World, add_actor, rbac_world, uuids_in
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetAuth, TargetKind
from windflow_desktop.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TargetUnreachableError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Deployment
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.activity import ActivityService
from windflow_desktop.services.adopt import AdoptService
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.services.deployments import DeploymentService, Rollout
from windflow_desktop.services.stacks import StackService
from windflow_desktop.services.targets import TargetService
from windflow_desktop.services.update_policy import UpdateSweepService


class Outcome(enum.Enum):
    OK = "allowed"
    UNREACHABLE = "allowed, then the target was unreachable"
    STARTED = "allowed, deployment recorded and run (failed at the target)"
    CONFLICT = "allowed, then refused by the object's state"
    DENIED = "PermissionDeniedError"
    NOT_FOUND = "NotFoundError"


OK, UNREACHABLE, STARTED, CONFLICT = (Outcome.OK, Outcome.UNREACHABLE, Outcome.STARTED,
                                      Outcome.CONFLICT)
DENIED, NOT_FOUND = Outcome.DENIED, Outcome.NOT_FOUND
VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN


@dataclass(frozen=True)
class Row:
    lowest: Role | None  # None: no principal needed
    own: Outcome  # an allowed role, in its own organization
    other: Outcome  # an allowed member, aimed at the other organization
    superuser_other: Outcome  # an allowed superuser, aimed at the other organization


TABLE: dict[str, Row] = {
    # -- targets -------------------------------------------------------------------------
    "targets.list_targets": Row(VIEWER, OK, DENIED, OK),
    "targets.get_target": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "targets.capabilities": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "targets.create_target": Row(ADMIN, OK, DENIED, DENIED),
    "targets.update_target": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "targets.delete_target": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "targets.forget_host_key": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "targets.trust_host_key": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    # The connection test returns its report (each step's failure) rather than raising.
    "targets.test_connection": Row(OPERATOR, OK, NOT_FOUND, NOT_FOUND),
    # The add/edit wizard's test: only who may save a target may try one.
    "targets.test_draft": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "targets.scan": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "targets.scan_many": Row(OPERATOR, OK, NOT_FOUND, NOT_FOUND),  # errors per target
    # Every window's health loop runs it: reading is enough (it only refreshes status).
    "targets.check_health": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    # -- stacks --------------------------------------------------------------------------
    "stacks.list_stacks": Row(VIEWER, OK, DENIED, OK),
    "stacks.get_stack": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "stacks.revisions": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "stacks.get_revision": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "stacks.diff": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "stacks.export_stack": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    # Pure: checks a text, touches no organization's data.
    "stacks.validate": Row(None, OK, OK, OK),
    "stacks.create_stack": Row(ADMIN, OK, DENIED, DENIED),
    "stacks.import_stack": Row(ADMIN, OK, DENIED, DENIED),
    "stacks.update_stack": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "stacks.save_revision": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "stacks.restore": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "stacks.duplicate": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "stacks.archive": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    "stacks.unarchive": Row(ADMIN, OK, NOT_FOUND, NOT_FOUND),
    # -- deployments ---------------------------------------------------------------------
    "deployments.list_deployments": Row(VIEWER, OK, DENIED, OK),
    "deployments.get": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "deployments.logs": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "deployments.log_page": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "deployments.stages": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "deployments.current_deployments": Row(VIEWER, OK, DENIED, OK),
    "deployments.previous_values": Row(VIEWER, OK, NOT_FOUND, NOT_FOUND),
    "deployments.preview": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "deployments.deploy": Row(OPERATOR, STARTED, NOT_FOUND, NOT_FOUND),
    "deployments.redeploy": Row(OPERATOR, STARTED, NOT_FOUND, NOT_FOUND),
    "deployments.rollback": Row(OPERATOR, STARTED, NOT_FOUND, NOT_FOUND),
    "deployments.cancel": Row(OPERATOR, CONFLICT, NOT_FOUND, NOT_FOUND),
    "deployments.stop": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "deployments.start": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "deployments.remove": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    # The job queue's workers and dead jobs (no queue here: an empty report, no such job);
    # managing, not reading: a superuser of another organization is refused too.
    "deployments.workers": Row(OPERATOR, OK, DENIED, DENIED),
    "deployments.retry_dead": Row(OPERATOR, NOT_FOUND, DENIED, DENIED),
    # -- adopt: what runs on a target outside WindFlow (its targets refuse connections) --
    "adopt.discover": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "adopt.adopt": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    # The seeded succeeded deployment holds its project: past the checks, to the target.
    "adopt.keep": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    # -- containers (every call reaches the target's engine) --------------------------------
    "containers.list_containers": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    # Issue #9 item 16 (masking its Config.Env, containers:manage for the raw view) would
    # change this row; today reading the target is enough.
    "containers.inspect": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.logs": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.follow_logs": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.stats": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.images": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.volumes": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.networks": Row(VIEWER, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.start": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.stop": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.restart": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.remove": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.pull_image": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    "containers.remove_image": Row(OPERATOR, UNREACHABLE, NOT_FOUND, NOT_FOUND),
    # -- activity and dashboard ----------------------------------------------------------
    "activity.list": Row(VIEWER, OK, DENIED, OK),
    "activity.actors": Row(VIEWER, OK, DENIED, OK),
    "dashboard.summary": Row(VIEWER, OK, DENIED, OK),
    # -- update checks (the targets refuse: each is a problem of the round, not an error) --
    "update_sweeps.sweep": Row(VIEWER, OK, DENIED, OK),
    "update_sweeps.latest": Row(VIEWER, OK, DENIED, OK),
}

# Public methods no user calls: the app runs them for itself, with no principal.
NOT_CALLED_BY_USERS = {
    "deployments.reconcile_unfinished": "settles what a previous run left, at start-up",
    "deployments.shutdown": "stops this process's pipelines when the app quits",
    "update_sweeps.run_schedule": "the server's own schedule of update checks",
    "update_sweeps.shutdown": "stops the automatic updates under way when the server quits",
}

SERVICES: dict[str, type] = {
    "targets": TargetService, "stacks": StackService, "deployments": DeploymentService,
    "containers": ContainerService, "activity": ActivityService,
    "dashboard": DashboardService, "adopt": AdoptService,
    "update_sweeps": UpdateSweepService,
}

_n = itertools.count()
REFUSED = "refused the connection"  # how the targets of ``rbac_support`` answer
Call = Callable[[World, Principal], Awaitable[Any]]


@dataclass
class Started:
    """A rollout that was awaited to its end."""

    deployments: list[Deployment]


async def _started(rollout: Awaitable[Rollout]) -> Started:
    return Started(await (await rollout).wait())


async def _first_line(lines: AsyncIterator[str]) -> str | None:
    async with contextlib.aclosing(lines):  # type: ignore[type-var]
        async for line in lines:
            return line
    return None


def _spec(w: World, name: str) -> TargetSpec:
    return TargetSpec(name=name, kind=TargetKind.SSH, host="127.0.0.1", port=w.port,
                      username="nobody", auth=TargetAuth.AGENT)


async def _update_target(w: World, p: Principal) -> Any:
    target = await w.target(w.own.id)
    spec = dataclasses.replace(TargetSpec.of(target), name=f"renamed-{next(_n)}")
    return await w.svc.targets.update_target(p, target.id, spec)


def own_calls() -> dict[str, Call]:
    return {
        "targets.list_targets": lambda w, p: w.svc.targets.list_targets(p),
        "targets.get_target": lambda w, p: w.svc.targets.get_target(p, w.own.target.id),
        "targets.capabilities": lambda w, p: w.svc.targets.capabilities(p, w.own.target.id),
        "targets.create_target": lambda w, p: w.svc.targets.create_target(
            p, _spec(w, f"new-{next(_n)}")),
        "targets.update_target": _update_target,
        "targets.delete_target": lambda w, p: _then(
            w.target(w.own.id), lambda t: w.svc.targets.delete_target(p, t.id)),
        "targets.forget_host_key": lambda w, p: w.svc.targets.forget_host_key(
            p, w.own.target.id),
        "targets.trust_host_key": lambda w, p: w.svc.targets.trust_host_key(
            p, w.own.target.id, "SHA256:x", lambda t: True),
        "targets.test_connection": lambda w, p: w.svc.targets.test_connection(
            p, w.own.target.id),
        "targets.test_draft": lambda w, p: w.svc.targets.test_draft(
            p, TargetSpec.of(w.own.target), target_id=w.own.target.id),
        "targets.scan": lambda w, p: w.svc.targets.scan(p, w.own.target.id),
        "targets.scan_many": lambda w, p: w.svc.targets.scan_many(p),
        "targets.check_health": lambda w, p: w.svc.targets.check_health(p),
        "stacks.list_stacks": lambda w, p: w.svc.stacks.list_stacks(p),
        "stacks.get_stack": lambda w, p: w.svc.stacks.get_stack(p, w.own.stack.id),
        "stacks.revisions": lambda w, p: w.svc.stacks.revisions(p, w.own.stack.id),
        "stacks.get_revision": lambda w, p: w.svc.stacks.get_revision(p, w.own.stack.id, 1),
        "stacks.diff": lambda w, p: w.svc.stacks.diff(p, w.own.stack.id, 1, 2),
        "stacks.export_stack": lambda w, p: w.svc.stacks.export_stack(p, w.own.stack.id),
        "stacks.validate": lambda w, p: w.svc.stacks.validate(COMPOSE),
        "stacks.create_stack": lambda w, p: w.svc.stacks.create_stack(
            p, name=f"Created {next(_n)}", compose_yaml=COMPOSE),
        "stacks.import_stack": lambda w, p: w.svc.stacks.import_stack(
            p, w.export_text, name=f"Imported {next(_n)}"),
        "stacks.update_stack": lambda w, p: w.svc.stacks.update_stack(
            p, w.own.stack.id, description=f"changed {next(_n)}"),
        "stacks.save_revision": lambda w, p: w.svc.stacks.save_revision(
            p, w.own.stack.id, compose_yaml=COMPOSE),
        "stacks.restore": lambda w, p: w.svc.stacks.restore(p, w.own.stack.id, 1),
        "stacks.duplicate": lambda w, p: w.svc.stacks.duplicate(
            p, w.own.stack.id, f"Copy {next(_n)}"),
        "stacks.archive": lambda w, p: _then(
            w.stack(w.own.id), lambda s: w.svc.stacks.archive(p, s.id)),
        "stacks.unarchive": lambda w, p: _then(
            w.stack(w.own.id, archived=True), lambda s: w.svc.stacks.unarchive(p, s.id)),
        "deployments.list_deployments": lambda w, p: w.svc.deployments.list_deployments(p),
        "deployments.get": lambda w, p: w.svc.deployments.get(p, w.own.deployment.id),
        "deployments.logs": lambda w, p: w.svc.deployments.logs(p, w.own.deployment.id),
        "deployments.log_page": lambda w, p: w.svc.deployments.log_page(
            p, w.own.deployment.id),
        "deployments.stages": lambda w, p: w.svc.deployments.stages(p, w.own.deployment.id),
        "deployments.preview": lambda w, p: w.svc.deployments.preview(
            p, w.own.stack.id, w.own.target.id),
        "deployments.deploy": lambda w, p: _then(
            w.target(w.own.id),
            lambda t: _started(w.svc.deployments.deploy(p, w.own.stack.id, [t.id]))),
        "deployments.redeploy": lambda w, p: _then(
            w.deployment(w.own.id, DeploymentStatus.SUCCEEDED),
            lambda dep: _started(w.svc.deployments.redeploy(p, dep.id))),
        "deployments.rollback": lambda w, p: _then(
            w.superseded(w.own.id),
            lambda dep: _started(w.svc.deployments.rollback(p, dep.id))),
        "deployments.current_deployments": lambda w, p:
            w.svc.deployments.current_deployments(p),
        "deployments.workers": lambda w, p: w.svc.deployments.workers(p),
        "deployments.retry_dead": lambda w, p: w.svc.deployments.retry_dead(p, "0-1"),
        "deployments.previous_values": lambda w, p: w.svc.deployments.previous_values(
            p, w.own.stack.id, w.own.target.id),
        "deployments.cancel": lambda w, p: _then(
            w.deployment(w.own.id, DeploymentStatus.PENDING),
            lambda dep: w.svc.deployments.cancel(p, dep.id)),
        "deployments.stop": lambda w, p: _then(
            w.deployment(w.own.id, DeploymentStatus.SUCCEEDED),
            lambda dep: w.svc.deployments.stop(p, dep.id)),
        "deployments.start": lambda w, p: _then(
            w.deployment(w.own.id, DeploymentStatus.STOPPED),
            lambda dep: w.svc.deployments.start(p, dep.id)),
        "deployments.remove": lambda w, p: _then(
            w.deployment(w.own.id, DeploymentStatus.SUCCEEDED),
            lambda dep: w.svc.deployments.remove(p, dep.id)),
        **_container_calls(lambda w: w.own.target.id),
        "activity.list": lambda w, p: w.svc.activity.list(p),
        "activity.actors": lambda w, p: w.svc.activity.actors(p),
        "dashboard.summary": lambda w, p: w.svc.dashboard.summary(p),
        "adopt.discover": lambda w, p: w.svc.adopt.discover(p, w.own.target.id),
        "adopt.adopt": lambda w, p: w.svc.adopt.adopt(p, w.own.target.id, "byhand", "Mine"),
        "adopt.keep": lambda w, p: w.svc.adopt.keep(p, w.own.deployment.id),
        "update_sweeps.sweep": lambda w, p: w.svc.update_sweeps.sweep(p),
        "update_sweeps.latest": lambda w, p: w.svc.update_sweeps.latest(p),
    }


def _container_calls(target: Callable[[World], Any]) -> dict[str, Call]:
    c = "c0ffee"
    return {
        "containers.list_containers": lambda w, p: w.svc.containers.list_containers(
            p, target(w)),
        "containers.inspect": lambda w, p: w.svc.containers.inspect(p, target(w), c),
        "containers.logs": lambda w, p: w.svc.containers.logs(p, target(w), c),
        "containers.follow_logs": lambda w, p: _first_line(
            w.svc.containers.follow_logs(p, target(w), c)),
        "containers.stats": lambda w, p: w.svc.containers.stats(p, target(w), c),
        "containers.images": lambda w, p: w.svc.containers.images(p, target(w)),
        "containers.volumes": lambda w, p: w.svc.containers.volumes(p, target(w)),
        "containers.networks": lambda w, p: w.svc.containers.networks(p, target(w)),
        "containers.start": lambda w, p: w.svc.containers.start(p, target(w), c),
        "containers.stop": lambda w, p: w.svc.containers.stop(p, target(w), c),
        "containers.restart": lambda w, p: w.svc.containers.restart(p, target(w), c),
        "containers.remove": lambda w, p: w.svc.containers.remove(p, target(w), c),
        "containers.pull_image": lambda w, p: w.svc.containers.pull_image(
            p, target(w), "localhost/busybox"),
        "containers.remove_image": lambda w, p: w.svc.containers.remove_image(
            p, target(w), "localhost/busybox"),
    }


# How each call below aims at the other organization (see the module docstring).
OBJECT, ORG, MEMBER, NONE = "object", "org", "member", "none"


def o(w: World) -> OrgSeed:
    return w.other


def other_calls() -> dict[str, tuple[str, Call]]:
    member = {  # the own-organization call, by a principal naming the other organization
        name: (MEMBER, own_calls()[name]) for name in (
            "targets.list_targets", "targets.create_target", "stacks.list_stacks",
            "stacks.create_stack", "stacks.import_stack", "deployments.list_deployments",
            "deployments.current_deployments", "activity.actors", "deployments.workers",
            "deployments.retry_dead", "update_sweeps.sweep", "update_sweeps.latest")
    }
    objects: dict[str, Call] = {
        "targets.get_target": lambda w, p: w.svc.targets.get_target(p, o(w).target.id),
        "targets.capabilities": lambda w, p: w.svc.targets.capabilities(p, o(w).target.id),
        "targets.update_target": lambda w, p: w.svc.targets.update_target(
            p, o(w).target.id, _spec(w, "hijacked")),
        "targets.delete_target": lambda w, p: w.svc.targets.delete_target(p, o(w).target.id),
        "targets.forget_host_key": lambda w, p: w.svc.targets.forget_host_key(
            p, o(w).target.id),
        "targets.trust_host_key": lambda w, p: w.svc.targets.trust_host_key(
            p, o(w).target.id, "SHA256:x", lambda t: True),
        "targets.test_connection": lambda w, p: w.svc.targets.test_connection(
            p, o(w).target.id),
        "targets.test_draft": lambda w, p: w.svc.targets.test_draft(
            p, TargetSpec.of(o(w).target), target_id=o(w).target.id),
        "targets.scan": lambda w, p: w.svc.targets.scan(p, o(w).target.id),
        "targets.scan_many": lambda w, p: w.svc.targets.scan_many(p, [o(w).target.id]),
        "targets.check_health": lambda w, p: w.svc.targets.check_health(p, [o(w).target.id]),
        "stacks.get_stack": lambda w, p: w.svc.stacks.get_stack(p, o(w).stack.id),
        "stacks.revisions": lambda w, p: w.svc.stacks.revisions(p, o(w).stack.id),
        "stacks.get_revision": lambda w, p: w.svc.stacks.get_revision(p, o(w).stack.id, 1),
        "stacks.diff": lambda w, p: w.svc.stacks.diff(p, o(w).stack.id, 1, 2),
        "stacks.export_stack": lambda w, p: w.svc.stacks.export_stack(p, o(w).stack.id),
        "stacks.update_stack": lambda w, p: w.svc.stacks.update_stack(
            p, o(w).stack.id, name="Hijacked"),
        "stacks.save_revision": lambda w, p: w.svc.stacks.save_revision(
            p, o(w).stack.id, compose_yaml=COMPOSE),
        "stacks.restore": lambda w, p: w.svc.stacks.restore(p, o(w).stack.id, 1),
        "stacks.duplicate": lambda w, p: w.svc.stacks.duplicate(p, o(w).stack.id, "Stolen"),
        "stacks.archive": lambda w, p: w.svc.stacks.archive(p, o(w).stack.id),
        "stacks.unarchive": lambda w, p: w.svc.stacks.unarchive(p, o(w).stack.id),
        "deployments.get": lambda w, p: w.svc.deployments.get(p, o(w).deployment.id),
        "deployments.logs": lambda w, p: w.svc.deployments.logs(p, o(w).deployment.id),
        "deployments.log_page": lambda w, p: w.svc.deployments.log_page(
            p, o(w).deployment.id),
        "deployments.stages": lambda w, p: w.svc.deployments.stages(p, o(w).deployment.id),
        # The two mixes: the other organization's stack on one's own target, and one's
        # own stack onto the other organization's target.
        "deployments.preview": lambda w, p: w.svc.deployments.preview(
            p, o(w).stack.id, w.own.target.id),
        "deployments.deploy": lambda w, p: _started(w.svc.deployments.deploy(
            p, w.own.stack.id, [o(w).target.id])),
        "deployments.redeploy": lambda w, p: _started(w.svc.deployments.redeploy(
            p, o(w).deployment.id)),
        "deployments.rollback": lambda w, p: _started(w.svc.deployments.rollback(
            p, o(w).deployment.id)),
        "deployments.cancel": lambda w, p: w.svc.deployments.cancel(p, o(w).deployment.id),
        "deployments.previous_values": lambda w, p: w.svc.deployments.previous_values(
            p, o(w).stack.id, o(w).target.id),
        "deployments.stop": lambda w, p: w.svc.deployments.stop(p, o(w).deployment.id),
        "deployments.start": lambda w, p: w.svc.deployments.start(p, o(w).deployment.id),
        "deployments.remove": lambda w, p: w.svc.deployments.remove(p, o(w).deployment.id),
        **_container_calls(lambda w: w.other.target.id),
        "adopt.discover": lambda w, p: w.svc.adopt.discover(p, o(w).target.id),
        "adopt.adopt": lambda w, p: w.svc.adopt.adopt(p, o(w).target.id, "byhand", "Stolen"),
        "adopt.keep": lambda w, p: w.svc.adopt.keep(p, o(w).deployment.id),
    }
    return {
        **member,
        **{name: (OBJECT, call) for name, call in objects.items()},
        "stacks.validate": (NONE, lambda w, p: w.svc.stacks.validate(COMPOSE)),
        "activity.list": (ORG, lambda w, p: w.svc.activity.list(p, organization_id=o(w).id)),
        "dashboard.summary": (ORG, lambda w, p: w.svc.dashboard.summary(
            p, organization_id=o(w).id)),
    }


async def _then(first: Awaitable[Any], then: Callable[[Any], Awaitable[Any]]) -> Any:
    return await then(await first)


def expected(row: Row, role: Role, superuser: bool, aimed_at_other: bool) -> Outcome:
    if row.lowest is not None and role.rank < row.lowest.rank:
        return DENIED
    if not aimed_at_other:
        return row.own
    return row.superuser_other if superuser else row.other


async def run_cell(call: Awaitable[Any]) -> tuple[Outcome | str, Any]:
    """What the call answered: an ``Outcome``, or a description of anything else."""
    try:
        result = await call
    except PermissionDeniedError:
        return DENIED, None
    except NotFoundError:
        return NOT_FOUND, None
    except TargetUnreachableError:
        return UNREACHABLE, None
    except ConflictError:
        return CONFLICT, None
    except Exception as exc:  # anything else is reported as the mismatch of the cell
        return f"{type(exc).__name__}: {exc}", None
    if isinstance(result, Started):  # each failed at the target, nowhere else
        ended = [(d.status.value, d.error or "") for d in result.deployments]
        if not ended or any(status != DeploymentStatus.FAILED.value or REFUSED not in error
                            for status, error in ended):
            return f"started, but the deployments ended {ended}", None
        return STARTED, result
    return OK, result


@dataclass(frozen=True)
class Actor:
    """Who calls: ``role`` is the membership in storage; ``claims`` a higher role that a
    stale principal still carries (demoted since it was issued): rights follow storage."""

    label: str
    role: Role
    superuser: bool = False
    claims: Role | None = None


ACTORS = [Actor(r.value, r) for r in Role] + [
    Actor("superuser-viewer", Role.VIEWER, superuser=True),
    Actor("superuser-owner", Role.OWNER, superuser=True),
    Actor("viewer-claiming-owner", Role.VIEWER, claims=Role.OWNER),
]


@pytest.mark.parametrize("who", ACTORS, ids=[a.label for a in ACTORS])
async def test_rbac_resource_matrix(backend: SqlBackend, tmp_path: Path, who: Actor) -> None:
    role, superuser = who.role, who.superuser
    async with rbac_world(backend, tmp_path) as w:
        stored = await add_actor(backend, w.own.id, who.label, role, superuser)
        w.own.ids.add(stored.user_id)
        claimed = who.claims or role
        actor = Principal(stored.user_id, w.own.id, claimed, superuser)
        in_other = Principal(stored.user_id, w.other.id, claimed, superuser)
        before = await _snapshot(w)
        mismatches: list[str] = []
        own, other = own_calls(), other_calls()
        for method, row in TABLE.items():
            for aimed, (how, call) in ((False, ("own", own[method])), (True, other[method])):
                want = expected(row, role, superuser, aimed)
                principal = in_other if how == MEMBER else actor
                got, result = await run_cell(call(w, principal))
                cell = f"{method} [{how}]"
                if got is not want:
                    mismatches.append(f"{cell}: expected {want.value}, got "
                                      f"{got.value if isinstance(got, Outcome) else got}")
                    continue
                # What an allowed call returned belongs to the organization it acted in.
                foreign = w.own.ids if how in (MEMBER, ORG) else w.other.ids
                if leaked := uuids_in(result) & foreign:
                    mismatches.append(f"{cell}: returned ids of the other organization "
                                      f"{sorted(map(str, leaked))[:3]}")
        assert not mismatches, "\n".join(mismatches)
        assert await _snapshot(w) == before, "the other organization was changed"


async def _snapshot(w: World) -> dict[str, Any]:
    """The other organization's rows, as they must stay whatever the actor tried."""
    org = w.other.id
    async with w.backend.unit_of_work() as uow:
        targets = (await uow.targets.list(org, _page())).items
        stacks = [*(await uow.stacks.list(org, _page())).items,
                  *(await uow.stacks.list(org, _page(), archived=True)).items]
        deps = (await uow.deployments.list(org, _page())).items
        audit = (await uow.audit.list(org, _page())).items
        members = (await uow.memberships.for_organization(org, _page())).items
        return {
            "name": (await uow.organizations.get(org)).name,
            "targets": sorted((t.name, t.host, t.port, t.updated_at) for t in targets),
            "stacks": sorted((s.name, s.current_revision, s.archived_at, s.description)
                             for s in stacks),
            "deployments": sorted((str(d.id), d.status.value) for d in deps),
            "audit": len(audit),
            "members": sorted((str(m.user_id), m.role.value) for m in members),
        }


def _page() -> PageRequest:
    return PageRequest(limit=1000)


def test_rbac_table_covers_every_public_method() -> None:
    """A new public method of these services fails here until it has a row (or is named
    as not called by users)."""
    public = {
        f"{prefix}.{name}"
        for prefix, cls in SERVICES.items()
        for name, fn in inspect.getmembers(cls)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn))
    }
    assert public == set(TABLE) | set(NOT_CALLED_BY_USERS)
    assert not set(TABLE) & set(NOT_CALLED_BY_USERS)
    assert set(own_calls()) == set(TABLE) == set(other_calls())

"""``UpdateSweepService``: one round of update checks over every target of an
organization, with each stack's update policy applied to what it found.

- ``notify`` (the default): an image with a newer one behind its tag is reported.
- ``ignore``: the stack's deployments are left out of the report (no count, no
  notification); an image that other deployments run too is still reported for them.
- ``auto``: the stack's deployments that run such an image are redeployed with every
  image pulled again (``redeploy(pull_images=True)``), **one target at a time**: the next
  only once the previous one succeeded and its watch ended well. A failure stops the
  rollout: the failed target gets its old image back (the tag pointed at the digest that
  ran before, then a redeploy without pull), the targets after it are left as they are,
  and the round's ``automatic`` lines say so in words. The same new digest is not tried
  again on any of the stack's targets (it is still reported, as for ``notify``); the
  next push under the tag is. (Remembered by this process: after a restart it is tried
  once more, and stopped again.)

Who acts: an automatic update acts as the person who chose ``auto`` for the stack
(``Stack.update_policy_by``), with their rights as they are when it runs — the audit
trail names them, and someone who lost ``deployments:create`` (or left) updates nothing
(the round says why). No principal with rights of its own is invented for it; the same
holds on the server, where its schedule runs the rounds (``run_schedule``) and the
desktops read the latest one (``latest``).

Qt-free: the desktop (local mode) and the server run it alike."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..domain.containers import ImageUpdate, ManagedProject, UpdateState
from ..domain.deployment_flow import Rollout
from ..domain.enums import ACTIVE_DEPLOYMENT, DeploymentStatus, UpdatePolicy
from ..domain.errors import NotFoundError, WindFlowError
from ..domain.identity import Principal
from ..domain.models import Deployment, Stack, Target
from ..domain.paging import MAX_PAGE_SIZE, PageRequest
from ..domain.permissions import TARGETS_READ
from ..domain.updates import AutoOutcome, AutoUpdate, UpdateSweep
from ..engine.registry import parse_reference
from .common import Scope, ServiceContext
from .disk import managed_projects
from .updates import UpdateService

log = logging.getLogger("windflow.updates")

Watching = Callable[[uuid.UUID], Awaitable[None]]
CONCURRENT_TARGETS = 4


class UpdateSweepService:
    """``sweep(p)``: a round now; ``latest(p)``: the latest round of the principal's
    organization (with ``scheduled``, the schedule's; else a round now)."""

    def __init__(self, context: ServiceContext, updates: UpdateService, deployments: Any,
                 *, watching: Watching | None = None, scheduled: bool = False,
                 poll_s: float = 0.5) -> None:
        self.ctx = context
        self.updates = updates
        self.deployments = deployments  # DeploymentService: redeploy, get
        self._watching = watching
        self.scheduled = scheduled
        self._poll_s = poll_s
        self._latest: dict[uuid.UUID, UpdateSweep] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        # (stack, image) → the registry digest whose automatic update failed on one of
        # the stack's targets: not tried again on any (a newer push is).
        self._failed: dict[tuple[uuid.UUID, str], str] = {}
        self._rolling: set[uuid.UUID] = set()  # stacks whose automatic update runs
        self._tasks: set[asyncio.Task[UpdateSweep]] = set()

    # -- what the stores and the routes ask ----------------------------------------------

    async def sweep(self, principal: Principal) -> UpdateSweep:
        """Check every target of the principal's organization now, apply the policies.
        With ``scheduled`` (a server: asked over HTTP) the answer comes once the checks
        are done; the automatic updates they start go on after it (the next ``latest``
        tells of them)."""
        return await self._round(await self._organization(principal),
                                 wait_for_updates=not self.scheduled)

    async def latest(self, principal: Principal) -> UpdateSweep:
        org = await self._organization(principal)
        known = self._latest.get(org)
        if self.scheduled and known is not None:
            return known
        return await self._round(org, wait_for_updates=not self.scheduled)

    async def shutdown(self) -> None:
        """Stop the automatic updates still under way (a deployment already started
        ends as the deployment service ends it)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _organization(self, principal: Principal) -> uuid.UUID:
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            return scope.org

    # -- the server's schedule -----------------------------------------------------------

    async def run_schedule(self, interval_s: float, *, first_after_s: float = 0.0) -> None:
        """Every ``interval_s``: a round for every organization (runs until cancelled)."""
        await asyncio.sleep(first_after_s)
        while True:
            try:
                async with self.ctx.backend.unit_of_work() as uow:
                    orgs = [o.id for o in (await uow.organizations.list(
                        PageRequest(limit=MAX_PAGE_SIZE))).items]
                for org in orgs:
                    await self._round(org)
            except asyncio.CancelledError:
                raise
            except Exception:  # a round that broke must not end the schedule
                log.exception("the scheduled update check failed")
            await asyncio.sleep(interval_s)

    # -- one round -----------------------------------------------------------------------

    async def _round(self, org: uuid.UUID, *, wait_for_updates: bool = True) -> UpdateSweep:
        async with self._locks.setdefault(org, asyncio.Lock()):
            before = self._latest.get(org)
            async with self.ctx.backend.unit_of_work() as uow:
                scope = Scope(uow, None, org, self.ctx.clock)
                targets = list((await uow.targets.list(
                    org, PageRequest(limit=MAX_PAGE_SIZE))).items)
                projects = {t.id: await managed_projects(scope, t.id) for t in targets}
            results, problems = await self._check(targets, projects)
            owners = await self._owners(org, results)
            reported = {t: tuple(v for line in lines
                                 if (v := _visible(line, owners)) is not None)
                        for t, lines in results.items()}
            # Automatic updates of an earlier round that ended while this one checked: told
            # here (else this round, replacing the latest, would drop them), and what they
            # updated is current (not updated a second time from what was read before).
            meanwhile = self._told_since(org, before)
            sweep = UpdateSweep(_after(reported, meanwhile), problems, meanwhile,
                                self.ctx.clock())
            self._latest[org] = sweep  # seen while the automatic updates run
            updates = self._updates(org, sweep, owners, {t.id: t for t in targets})
            if not wait_for_updates:
                task = asyncio.create_task(updates, name=f"auto-updates-{org}")
                self._tasks.add(task)
                task.add_done_callback(self._ended)
                return sweep
            return await updates

    async def _updates(self, org: uuid.UUID, sweep: UpdateSweep,
                       owners: Mapping[uuid.UUID, tuple[Deployment, Stack]],
                       targets: Mapping[uuid.UUID, Target]) -> UpdateSweep:
        """The round once its automatic updates ran (remembered as the latest)."""
        automatic = await self._automatic(org, sweep.results, owners, targets)
        if not automatic:
            return sweep
        # Told in the latest round, this one's or a later one that ran meanwhile.
        current = self._latest.get(org, sweep)
        self._latest[org] = UpdateSweep(_after(current.results, automatic),
                                        current.problems, current.automatic + automatic,
                                        current.checked_at)
        return UpdateSweep(_after(sweep.results, automatic), sweep.problems, automatic,
                           sweep.checked_at)

    def _told_since(self, org: uuid.UUID, before: UpdateSweep | None
                    ) -> tuple[AutoUpdate, ...]:
        """The automatic updates told in the latest round since it was ``before`` (while a
        round holds the lock, only the updates of earlier rounds change it)."""
        now = self._latest.get(org)
        if now is None or now is before:
            return ()
        known = set(before.automatic) if before is not None else set()
        return tuple(a for a in now.automatic if a not in known)

    def _ended(self, task: asyncio.Task[UpdateSweep]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("automatic updates failed", exc_info=task.exception())

    async def _check(self, targets: Sequence[Target],
                     projects: Mapping[uuid.UUID, Mapping[str, ManagedProject | None]]
                     ) -> tuple[dict[uuid.UUID, tuple[ImageUpdate, ...]], dict[uuid.UUID, str]]:
        results: dict[uuid.UUID, tuple[ImageUpdate, ...]] = {}
        problems: dict[uuid.UUID, str] = {}
        bound = asyncio.Semaphore(CONCURRENT_TARGETS)

        async def one(target: Target) -> None:
            async with bound:
                try:
                    results[target.id] = await self.updates.inspect(target,
                                                                    projects[target.id])
                except WindFlowError as exc:
                    problems[target.id] = exc.message

        await asyncio.gather(*(one(t) for t in targets))
        return ({t.id: results[t.id] for t in targets if t.id in results},
                {t.id: problems[t.id] for t in targets if t.id in problems})

    async def _owners(self, org: uuid.UUID, results: Mapping[uuid.UUID, Sequence[ImageUpdate]]
                      ) -> dict[uuid.UUID, tuple[Deployment, Stack]]:
        """Each deployment a line names, with its stack (policy as stored now)."""
        ids = {d for lines in results.values() for line in lines for d in line.deployment_ids}
        owners: dict[uuid.UUID, tuple[Deployment, Stack]] = {}
        stacks: dict[uuid.UUID, Stack] = {}
        async with self.ctx.backend.unit_of_work() as uow:
            for dep_id in ids:
                try:
                    dep = await uow.deployments.get(dep_id)
                    if dep.stack_id not in stacks:
                        stacks[dep.stack_id] = await uow.stacks.get(dep.stack_id)
                except NotFoundError:
                    continue
                if dep.organization_id == org:
                    owners[dep_id] = (dep, stacks[dep.stack_id])
        return owners

    # -- auto ----------------------------------------------------------------------------

    async def _automatic(self, org: uuid.UUID,
                         reported: Mapping[uuid.UUID, Sequence[ImageUpdate]],
                         owners: Mapping[uuid.UUID, tuple[Deployment, Stack]],
                         targets: Mapping[uuid.UUID, Target]) -> tuple[AutoUpdate, ...]:
        plans: dict[uuid.UUID, dict[uuid.UUID, list[ImageUpdate]]] = {}
        for lines in reported.values():
            for line in lines:
                if line.state is not UpdateState.AVAILABLE:
                    continue
                for dep_id in line.deployment_ids:
                    if dep_id not in owners:
                        continue
                    stack = owners[dep_id][1]
                    if stack.update_policy is not UpdatePolicy.AUTO or stack.archived_at \
                            or stack.id in self._rolling:
                        continue  # not auto, or its rollout from an earlier round runs
                    if self._failed.get((stack.id, line.image)) == line.latest:
                        continue  # this digest failed already: reported only
                    plans.setdefault(stack.id, {}).setdefault(dep_id, []).append(line)
        done: list[AutoUpdate] = []
        self._rolling.update(plans)  # a round meanwhile leaves them to this one
        try:
            for stack_id, by_dep in plans.items():
                stack = owners[next(iter(by_dep))][1]
                # One target at a time, in the order of their names.
                order = sorted(by_dep, key=lambda d: (targets[owners[d][0].target_id].name,
                                                      str(d)))
                try:
                    done.extend(await self._roll_out(org, stack, [(owners[d][0], by_dep[d])
                                                                  for d in order], targets))
                finally:
                    self._rolling.discard(stack_id)
        finally:
            self._rolling.difference_update(plans)
        return tuple(done)

    async def _roll_out(self, org: uuid.UUID, stack: Stack,
                        steps: list[tuple[Deployment, list[ImageUpdate]]],
                        targets: Mapping[uuid.UUID, Target]) -> list[AutoUpdate]:
        out: list[AutoUpdate] = []

        def line(dep: Deployment, lines: list[ImageUpdate], outcome: AutoOutcome,
                 message: str = "", new: uuid.UUID | None = None) -> AutoUpdate:
            target = targets[dep.target_id]
            return AutoUpdate(stack.id, stack.name, target.id, target.name, dep.id, outcome,
                              tuple(sorted(u.image for u in lines)), new, message)

        try:
            actor = await self._actor(org, stack)
        except WindFlowError as exc:
            return [line(d, ls, AutoOutcome.REFUSED, exc.message) for d, ls in steps]
        for index, (dep, lines) in enumerate(steps):
            result = await self._update_one(actor, stack, dep, lines, targets[dep.target_id])
            out.append(line(dep, lines, *result))
            if result[0] is not AutoOutcome.UPDATED:
                first = targets[dep.target_id].name
                out.extend(line(d, ls, AutoOutcome.NOT_STARTED,
                                f"the rollout stopped after the update on {first} failed; "
                                "it keeps the image it runs")
                           for d, ls in steps[index + 1:])
                break
        return out

    async def _actor(self, org: uuid.UUID, stack: Stack) -> Principal:
        """The person who chose ``auto`` for the stack, with their role as stored now."""
        who = stack.update_policy_by
        if who is None:
            raise WindFlowError(f"nobody is recorded as having chosen automatic updates for "
                                f"{stack.name}: choose them again")
        async with self.ctx.backend.unit_of_work() as uow:
            membership = await uow.memberships.get(who, org)
        if membership is None:
            raise WindFlowError(f"the person who chose automatic updates for {stack.name} "
                                "is no longer a member: choose them again")
        return Principal(who, org, membership.role)

    async def _update_one(self, actor: Principal, stack: Stack, dep: Deployment,
                          lines: list[ImageUpdate], target: Target
                          ) -> tuple[AutoOutcome, str, uuid.UUID | None]:
        try:
            rollout = await self.deployments.redeploy(actor, dep.id, pull_images=True)
            new = await self._settled(actor, rollout)
        except WindFlowError as exc:
            return AutoOutcome.REFUSED, exc.message, None
        if new.status is DeploymentStatus.SUCCEEDED:
            log.info("stack %s on %s updated automatically", stack.name, target.name)
            return AutoOutcome.UPDATED, "", new.id
        for u in lines:
            self._failed[(stack.id, u.image)] = u.latest
        why = new.error or f"it ended {new.status.value}"
        back = await self._restore(actor, target, new, lines)
        return AutoOutcome.FAILED, f"{why}; {back}", new.id

    async def _restore(self, actor: Principal, target: Target, failed: Deployment,
                       lines: list[ImageUpdate]) -> str:
        """Point each tag at the digest that ran before and redeploy without pulling:
        the old image runs again. Says what came of it."""
        pins = {u.image: pin for u in lines if (pin := _old_digest(u))}
        try:
            async with self.updates.pool.docker(target) as api:
                for image, pin in pins.items():
                    await api.tag_image(pin, image)
            back = await self._settled(actor, await self.deployments.redeploy(actor,
                                                                             failed.id))
        except WindFlowError as exc:
            return f"putting the old image back failed too: {exc.message}"
        if back.status is not DeploymentStatus.SUCCEEDED:
            return f"putting the old image back failed too: {back.error or back.status.value}"
        digests = ", ".join(p.rpartition("@")[2][:19] for p in pins.values())
        return f"the old image runs again ({digests or 'as before'})"

    async def _settled(self, actor: Principal, rollout: Rollout) -> Deployment:
        """The deployment once it ended and (in this process) its watch ended too."""
        [dep] = await rollout.wait()
        while dep.status in ACTIVE_DEPLOYMENT:  # run by a worker: asked until it ends
            await asyncio.sleep(self._poll_s)
            dep = await self.deployments.get(actor, dep.id)
        if dep.status is DeploymentStatus.SUCCEEDED and self._watching is not None:
            await self._watching(dep.id)
            dep = await self.deployments.get(actor, dep.id)
        return dep


def _visible(line: ImageUpdate, owners: Mapping[uuid.UUID, tuple[Deployment, Stack]]
             ) -> ImageUpdate | None:
    """``line`` without the deployments of ``ignore`` stacks (None: only theirs)."""
    if not line.deployment_ids:
        return line
    kept = tuple(d for d in line.deployment_ids
                 if d not in owners or owners[d][1].update_policy is not UpdatePolicy.IGNORE)
    if not kept:
        return None
    return line if kept == line.deployment_ids else dataclasses.replace(line,
                                                                       deployment_ids=kept)


def _after(reported: Mapping[uuid.UUID, Sequence[ImageUpdate]],
           automatic: Sequence[AutoUpdate]) -> dict[uuid.UUID, tuple[ImageUpdate, ...]]:
    """The report once the automatic updates ran: a line whose every deployment was
    updated is current now."""
    updated = {a.deployment_id for a in automatic if a.outcome is AutoOutcome.UPDATED}
    out: dict[uuid.UUID, tuple[ImageUpdate, ...]] = {}
    for target_id, lines in reported.items():
        out[target_id] = tuple(
            dataclasses.replace(u, state=UpdateState.CURRENT, message="updated automatically")
            if u.state is UpdateState.AVAILABLE and u.deployment_ids
            and set(u.deployment_ids) <= updated else u
            for u in lines)
    return out


def _old_digest(line: ImageUpdate) -> str:
    """The ``repo@sha256:…`` the image ran before, in the tag's own repository."""
    ref = parse_reference(line.image)
    for pinned in line.running:
        name, _, _ = pinned.rpartition("@")
        where = parse_reference(name)
        if ref is not None and where is not None and \
                (where.registry, where.repository) == (ref.registry, ref.repository):
            return pinned
    return ""

"""``DeploymentService``: deploy a stack revision to one or many targets, and the
lifecycle after it (stop, start, redeploy, cancel, remove, rollback), on top of
``deploy.DeploymentCore``.

A deployment snapshots the revision and its variables: plain values in the row, secret
values in the keyring (``deployment/<id>/<NAME>``) with only the reference in the row.
Pipelines run as tracked background tasks; ``Rollout.wait()`` awaits them. Many targets
run in parallel with a bound, or in waves that stop at the first failure (staged).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence

from ..domain.compose import ComposeReport
from ..domain.deployment_flow import HOLDS, Action, Rollout
from ..domain.enums import ACTIVE_DEPLOYMENT, DeploymentStatus
from ..domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    QueueUnavailableError,
    ValidationError,
    WindFlowError,
)
from ..domain.events import DeploymentCreated
from ..domain.identity import Principal
from ..domain.models import (
    Deployment,
    DeploymentLog,
    DeploymentStageRecord,
    DeployPreview,
    PreviousValues,
    Stack,
    Target,
)
from ..domain.paging import Page, PageRequest
from ..domain.permissions import (
    DEPLOYMENTS_CREATE,
    DEPLOYMENTS_MANAGE,
    DEPLOYMENTS_READ,
    STACKS_WRITE,
)
from ..domain.variables import parse_spec, resolve_values
from ..engine.compose import env_file_text
from ..engine.compose_validation import missing_required, validate_compose
from ..security.secrets import SecretStore
from .common import Scope, ServiceContext
from .deploy.core import DeploymentCore
from .deploy.jobs import IdempotentRequests, JobDispatch
from .deploy.journal import is_running_watch
from .deploy.rollouts import Rollouts
from .deploy.standing import last_applied, may, no_active, project_of
from .deploy.values import secret_ref, stored_secret
from .secret_refs import deployment_secret_refs

MAX_PARALLEL = 16
log = logging.getLogger("windflow.deployments")
# The runner a queued deployment is claimed by when it is cancelled before any worker
# took it (the claim bumps its attempt: a worker's claim of it then fails).
CANCELLER = "cancelled-before-start"


class DeploymentService:
    """Public API (async; the acting principal first):

    ``deploy(p, stack_id, target_ids, variables=None, overrides=None, revision=None,
    parallel=4, stop_on_failure=False) -> Rollout``, ``redeploy(p, id, variables=None,
    revision=None) -> Rollout``, ``rollback(p, id) -> Rollout`` (re-apply an earlier
    succeeded deployment), ``cancel(p, id)``, ``stop(p, id)``, ``start(p, id)``,
    ``remove(p, id, volumes=False)``, ``list_deployments(p, page, status=, target_id=,
    stack_id=)``, ``get(p, id)``, ``logs(p, id, after_seq=0, limit=1000)``,
    ``log_page(p, id, before_seq=None, limit=1000)`` (the newest lines before a seq),
    ``stages(p, id)``, ``preview(p, stack_id, target_id, variables, revision=None)``;
    ``reconcile_unfinished()`` once at start-up; ``shutdown()``.
    """

    def __init__(self, context: ServiceContext, core: DeploymentCore,
                 secrets: SecretStore) -> None:
        self.ctx = context
        self.core = core
        self.secrets = secrets
        self.rollouts = Rollouts(context, core)
        # Server mode with Redis: deployments go on the job queue for workers; this
        # process never runs a pipeline (nor settles what workers run).
        self.queue: JobDispatch | None = None
        self._idempotent = IdempotentRequests()

    def use_queue(self, queue: JobDispatch) -> None:
        self.queue = queue
        self._idempotent = IdempotentRequests(queue)

    # -- reading --------------------------------------------------------------------------

    async def list_deployments(
        self, principal: Principal, page: PageRequest | None = None, *,
        status: Sequence[DeploymentStatus] | None = None,
        target_id: uuid.UUID | None = None, stack_id: uuid.UUID | None = None,
    ) -> Page[Deployment]:
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            return await scope.uow.deployments.list(
                scope.org, page or PageRequest(), status=status, target_id=target_id,
                stack_id=stack_id)

    async def get(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            return await scope.deployment(deployment_id)

    async def logs(self, principal: Principal, deployment_id: uuid.UUID, *,
                   after_seq: int = 0, limit: int = 1000) -> Sequence[DeploymentLog]:
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            await scope.deployment(deployment_id)
            return await scope.uow.deployments.logs(deployment_id, after_seq=after_seq,
                                                    limit=min(limit, 10_000))

    async def log_page(self, principal: Principal, deployment_id: uuid.UUID, *,
                       before_seq: int | None = None, limit: int = 1000
                       ) -> Sequence[DeploymentLog]:
        """The newest ``limit`` lines before ``before_seq`` (the end of the log when
        None), in seq order: the log view's pages, newest first."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            await scope.deployment(deployment_id)
            return await scope.uow.deployments.logs_before(
                deployment_id, before_seq=before_seq, limit=max(1, min(limit, 10_000)))

    async def stages(self, principal: Principal, deployment_id: uuid.UUID
                     ) -> Sequence[DeploymentStageRecord]:
        """The stage records of the deployment. A watch stage left running by a process
        that is gone (killed inside the watch after a success) is ended here, when read:
        nothing else would end it before the next action on the project."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            dep = await scope.deployment(deployment_id)
            records = await scope.uow.deployments.stages(deployment_id)
        if any(is_running_watch(r) for r in records) and not self.core.is_live(dep):
            return await self.core.journal.end_unwatched(dep)
        return records

    async def previous_values(self, principal: Principal, stack_id: uuid.UUID,
                              target_id: uuid.UUID) -> PreviousValues:
        """What the next deployment of the stack on the target starts from: the values of
        the one that runs there (or ran last); secrets by name only."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            await scope.stack(stack_id)
            await scope.target(target_id)
            applied = await last_applied(scope.uow, stack_id, target_id)
        if applied is None:
            return PreviousValues()
        plain = {k: v for k, v in applied.variables.items() if isinstance(v, str)}
        secrets = frozenset(k for k, v in applied.variables.items() if secret_ref(v))
        return PreviousValues(plain, secrets)

    async def preview(self, principal: Principal, stack_id: uuid.UUID, target_id: uuid.UUID,
                      variables: Mapping[str, str | None] | None = None,
                      revision: int | None = None) -> DeployPreview:
        """Preflight checks and ``compose config`` of the revision with these values, run
        on the target."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_CREATE) as scope:
            stack = await scope.stack(stack_id)
            target = await scope.target(target_id)
            rev = await scope.uow.stacks.get_revision(stack.id,
                                                      revision or stack.current_revision)
            project = await project_of(scope.uow, stack, target.id)
        values = resolve_values(parse_spec(rev.variables), variables or {}, generate=False)
        env_file_text(values)  # refuse values Compose cannot carry before reaching out
        return await self.core.preview(target, rev, values, project)

    # -- deploying ------------------------------------------------------------------------

    async def deploy(
        self,
        principal: Principal,
        stack_id: uuid.UUID,
        target_ids: Sequence[uuid.UUID],
        *,
        variables: Mapping[str, str | None] | None = None,
        overrides: Mapping[uuid.UUID, Mapping[str, str | None]] | None = None,
        revision: int | None = None,
        parallel: int = 4,
        stop_on_failure: bool = False,
        pull_images: bool = False,
        idempotency_key: str | None = None,
    ) -> Rollout:
        """Deploy revision ``revision`` (the current one by default) to every target;
        ``pull_images``: pull every image again (an update), not only the missing ones;
        ``idempotency_key``: a request made again with the same key (by the same person)
        answers the deployments the first one made, and starts nothing.

        Every value is checked (required variables, those the Compose file requires with
        ``${NAME:?…}`` too, unknown names, values Compose cannot carry) for every target,
        and a revision that needs host access needs the stack's flag and ``stacks:write``,
        before any deployment is created."""
        if idempotency_key:
            key = f"{principal.user_id}:{idempotency_key}"
            earlier = await self._idempotent.begin(key)
            if earlier is not None:
                return Rollout([await self.get(principal, dep_id) for dep_id in earlier])
            try:
                rollout = await self.deploy(
                    principal, stack_id, target_ids, variables=variables,
                    overrides=overrides, revision=revision, parallel=parallel,
                    stop_on_failure=stop_on_failure, pull_images=pull_images)
            except BaseException:
                await self._idempotent.abandon(key)
                raise
            await self._idempotent.done(key, [d.id for d in rollout.deployments])
            return rollout
        if not target_ids:
            raise ValidationError("choose at least one target", field="target_ids")
        if len(set(target_ids)) != len(target_ids):
            raise ValidationError("a target is chosen twice", field="target_ids")
        if not 1 <= parallel <= MAX_PARALLEL:
            raise ValidationError(f"parallel must be 1..{MAX_PARALLEL}", field="parallel")
        overrides = overrides or {}
        stack, rev_id, plans, secret_names = await self._plan(
            principal, stack_id, target_ids, variables, overrides, revision)
        # The keyring first, outside any unit of work: it may prompt, and the INSERTs
        # below hold SQLite's write lock until the commit.
        refs: list[str] = []
        stored: list[tuple[uuid.UUID, Target, dict[str, object]]] = []
        try:
            for target, values in plans:
                dep_id = uuid.uuid4()
                stored.append((dep_id, target,
                               await self._store_values(dep_id, values, secret_names, refs)))
        except BaseException:
            await self._delete_refs(refs)
            raise
        # From here the commit and the start of the pipelines run to their end even when
        # the caller is cancelled: a committed deployment always gets its pipeline (and
        # keeps its secrets); the refs go only when nothing was committed.
        inner = asyncio.ensure_future(self._commit_and_start(
            principal, stack.id, rev_id, stored, refs, parallel, stop_on_failure,
            pull_images))
        inner.add_done_callback(_retrieve)
        return await asyncio.shield(inner)

    async def _plan(
        self, principal: Principal, stack_id: uuid.UUID, target_ids: Sequence[uuid.UUID],
        variables: Mapping[str, str | None] | None,
        overrides: Mapping[uuid.UUID, Mapping[str, str | None]], revision: int | None,
    ) -> tuple[Stack, uuid.UUID, list[tuple[Target, dict[str, str]]], set[str]]:
        async with self.ctx.authorized(principal, DEPLOYMENTS_CREATE) as scope:
            stack = await scope.stack(stack_id)
            if stack.archived_at is not None:
                raise ConflictError(f"the stack {stack.name} is archived")
            rev = await scope.uow.stacks.get_revision(stack.id,
                                                      revision or stack.current_revision)
            specs = parse_spec(rev.variables)
            # Generated values and secrets not given again are kept from the deployment
            # that runs (the deploy dialog shows a kept secret hidden, and sends nothing).
            kept_names = {s.name for s in specs if s.generator or s.secret}
            found: list[tuple[Target, dict[str, object]]] = []
            for target_id in target_ids:
                target = await scope.target(target_id)
                await no_active(scope.uow, stack, target)
                applied = await last_applied(scope.uow, stack.id, target.id) \
                    if kept_names else None
                found.append((target, {k: v for k, v in (applied.variables.items()
                                                         if applied else ()) if k in kept_names}))
        report = await asyncio.to_thread(validate_compose, rev.compose_yaml, specs)
        report.raise_for_errors()  # a revision saved before a rule was added
        await self._allow_host_access(principal, stack, report)
        # The keyring outside the unit of work (it may prompt).
        plans: list[tuple[Target, dict[str, str]]] = []
        for target, kept in found:
            given = {**(variables or {}), **(overrides.get(target.id) or {})}
            for name, value in (await self._read_kept(kept)).items():
                if given.get(name) in (None, ""):
                    given[name] = value
            values = resolve_values(specs, given)
            for use in missing_required(report, values):
                hint = f": {use.required_message}" if use.required_message else ""
                raise ValidationError(f"{use.name} is required by the Compose file (line "
                                      f"{use.line}){hint}", field=use.name)
            env_file_text(values)
            plans.append((target, values))
        return stack, rev.id, plans, {s.name for s in specs if s.secret}

    async def _allow_host_access(self, principal: Principal, stack: Stack,
                                 report: ComposeReport) -> None:
        """A revision that reaches into its host deploys only from a stack flagged for
        it, and only for someone who may change the stack (``stacks:write``, as stored:
        a principal that still claims a role it lost does not count)."""
        if not report.host_access:
            return
        grants = ", ".join(report.host_access)
        if not stack.host_access:
            raise ValidationError(
                f"the stack {stack.name} needs host access ({grants}); someone with "
                "stacks:write must tick \"This stack needs host access\" on the stack before "
                "it is deployed", field="host_access")
        try:
            async with self.ctx.authorized(principal, STACKS_WRITE, stack.organization_id):
                pass  # the check itself: claimed rights, then the stored ones
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(
                f"the stack {stack.name} needs host access ({grants}): deploying it needs "
                f"stacks:write as well; {exc.message}") from exc

    async def _read_kept(self, stored: Mapping[str, object]) -> dict[str, str]:
        """The generated values the deployment that runs (or ran last) on this target
        used, from its row or the keyring: a new deployment keeps them unless given
        others, since a service may have stored them already (a database's password in
        its volume). One no longer in the keyring is generated anew."""
        kept: dict[str, str] = {}
        for name, value in stored.items():
            if (ref := secret_ref(value)) is not None:
                secret = await self.secrets.aget(ref)
                if secret:
                    kept[name] = secret
            elif isinstance(value, str) and value:
                kept[name] = value
        return kept

    async def _commit_and_start(
        self, principal: Principal, stack_id: uuid.UUID, revision_id: uuid.UUID,
        stored: list[tuple[uuid.UUID, Target, dict[str, object]]], refs: list[str],
        parallel: int, stop_on_failure: bool, pull_images: bool = False,
    ) -> Rollout:
        created: list[Deployment] = []
        self.rollouts.claim([dep_id for dep_id, _, _ in stored])
        try:
            async with self.ctx.authorized(principal, DEPLOYMENTS_CREATE) as scope:
                stack = await scope.stack(stack_id)  # still there, not archived, idle
                if stack.archived_at is not None:
                    raise ConflictError(f"the stack {stack.name} is archived")
                for dep_id, target, values in stored:
                    target = await scope.target(target.id)
                    await no_active(scope.uow, stack, target)
                    created.append(await self._new_deployment(
                        scope, stack, revision_id, target, dep_id, values, pull_images))
        except BaseException:
            self.rollouts.release([dep_id for dep_id, _, _ in stored])
            await self._delete_refs(refs)
            raise
        if self.queue is None:
            return self.rollouts.start(created, parallel, stop_on_failure)
        self.rollouts.release([dep_id for dep_id, _, _ in stored])
        unqueued: list[str] = []
        for dep in created:
            try:
                await self.queue.enqueue(dep.id)
            except Exception as exc:  # Redis down: say so rather than leave it pending
                log.warning("deployment %s could not be queued", dep.id, exc_info=True)
                await self.core.fail_unstarted(
                    dep, f"not started: the job queue could not take it ({exc})")
                unqueued.append(dep.project_name)
        if unqueued:  # the caller is told, not answered "accepted"
            raise QueueUnavailableError(
                f"the job queue cannot be reached: {len(unqueued)} of {len(created)} "
                f"deployments were not started (recorded as failed); try again shortly")
        return Rollout(created)

    async def _delete_refs(self, refs: list[str]) -> None:
        for ref in refs:
            try:
                await self.secrets.adelete(ref)
            except Exception:
                log.warning("could not delete the secret %s", ref, exc_info=True)

    async def redeploy(self, principal: Principal, deployment_id: uuid.UUID, *,
                       variables: Mapping[str, str | None] | None = None,
                       revision: int | None = None, pull_images: bool = False) -> Rollout:
        """Deploy again to the same target with the same values, changed by ``variables``;
        ``revision`` picks another revision (the stack's current one with ``0``);
        ``pull_images``: with every image pulled again (an update)."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_CREATE) as scope:
            old = await scope.deployment(deployment_id)
            old_rev = await scope.uow.stacks.get_revision_by_id(old.revision_id)
            stack = await scope.stack(old.stack_id)
            number = old_rev.number if revision is None else \
                (revision or stack.current_revision)
            rev = await scope.uow.stacks.get_revision(stack.id, number)
        specs = parse_spec(rev.variables)
        # A secret whose keyring entry went (the project was removed) is fine when it is
        # given again or generated anew; any other raises and says to give it.
        renewable = set(variables or {}) | {s.name for s in specs if s.generator}
        values: dict[str, str | None] = dict(
            await self.core.resolve_values(old, missing=renewable))
        values.update(variables or {})
        known = {s.name for s in specs}
        values = {k: v for k, v in values.items() if k in known}
        return await self.deploy(principal, stack.id, [old.target_id], variables=values,
                                 revision=number, pull_images=pull_images)

    async def rollback(self, principal: Principal, deployment_id: uuid.UUID) -> Rollout:
        """Re-apply an earlier succeeded deployment (its revision and its values)."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            await may(scope.uow, await scope.deployment(deployment_id), Action.ROLLBACK)
        return await self.redeploy(principal, deployment_id)

    async def cancel(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        """Ask a running deployment to stop at its next safe point. On a server (a job
        queue): one no worker took yet ends cancelled at once; a worker's run is asked
        through its row, which the worker reads while it runs."""
        queued = False
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            dep = await scope.deployment(deployment_id)
            if dep.status not in ACTIVE_DEPLOYMENT:
                raise ConflictError(f"the deployment is {dep.status.value}, not running")
            token = self.rollouts.cancel_token(deployment_id)
            if token is None and self.queue is None:
                # Not run by this process (another window, or a dead one).
                raise ConflictError("this deployment is not running in this window; it is "
                                    "settled when the app that runs it ends or restarts")
            if token is None:
                now = self.ctx.clock()
                await scope.uow.deployments.request_cancel(dep.id, now)
                # Not taken yet: claimed here (a worker's claim of it now fails).
                queued = dep.runner is None and await scope.uow.deployments.claim(
                    dep.id, CANCELLER, dep.attempt, now)
            scope.record("deployment.cancel_requested", "deployment", dep.id, {})
        if token is not None:
            token.cancel()
        elif queued:
            await self.core.fail_unstarted(await self.core.get(dep.id),
                                           "cancelled before a worker started it",
                                           DeploymentStatus.CANCELLED)
            return await self.core.get(dep.id)
        return dep

    async def stop(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        return await self._lifecycle(principal, deployment_id, Action.STOP)

    async def start(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment:
        return await self._lifecycle(principal, deployment_id, Action.START)

    async def remove(self, principal: Principal, deployment_id: uuid.UUID, *,
                     volumes: bool = False) -> Deployment:
        """``compose down`` (with the named volumes only when ``volumes``; the UI asks)."""
        return await self._lifecycle(principal, deployment_id, Action.REMOVE, volumes=volumes)

    async def current_deployments(self, principal: Principal) -> Sequence[Deployment]:
        """For each stack and target of the organization, the deployment that holds its
        project (see ``domain/deployment_flow``): the rows the UI asks the flow about."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_READ) as scope:
            return await scope.uow.deployments.newest_per_project(scope.org, HOLDS)

    async def _lifecycle(self, principal: Principal, deployment_id: uuid.UUID, action: Action,
                         *, volumes: bool = False) -> Deployment:
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            dep = await scope.deployment(deployment_id)
            await may(scope.uow, dep, action)
            scope.record(f"deployment.{action}_requested", "deployment", dep.id,
                         {"volumes": volumes} if action == "remove" else {})
        done = await self.core.lifecycle(deployment_id, action, volumes=volumes)
        if action == "remove":
            await self._forget_secrets(principal, done, keep_newest=not volumes)
        return done

    async def _forget_secrets(self, principal: Principal, removed: Deployment, *,
                              keep_newest: bool) -> None:
        """Delete the keyring entries of the deployments of a removed project: all of
        them when its volumes went too, else all but those of the one that ran last (the
        data left in the volumes may have been set up with its generated values, which
        the next deployment here keeps). Redeploying one of them then asks again."""
        refs: list[str] = []
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            applied = await last_applied(scope.uow, removed.stack_id, removed.target_id)
            kept = applied.id if keep_newest and applied is not None else None
            cursor: str | None = None
            while True:
                page = await scope.uow.deployments.list(
                    scope.org, PageRequest(200, cursor), stack_id=removed.stack_id,
                    target_id=removed.target_id)
                for dep in page.items:
                    if dep.id != kept and dep.status not in ACTIVE_DEPLOYMENT:
                        refs.extend(deployment_secret_refs(dep))
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        await self._delete_refs(refs)

    async def _store_values(self, dep_id: uuid.UUID, values: Mapping[str, str],
                            secret_names: set[str], refs: list[str]) -> dict[str, object]:
        """The row's variables: secret values go to the keyring, their refs to ``refs``."""
        stored: dict[str, object] = {}
        for name, value in values.items():
            if name in secret_names:
                ref = f"deployment/{dep_id}/var/{name}"
                refs.append(ref)  # before the write: a write cut short is undone too
                await self.secrets.aset(ref, value)
                stored[name] = stored_secret(ref)
            else:
                stored[name] = value
        return stored

    async def _new_deployment(self, scope: Scope, stack: Stack, revision_id: uuid.UUID,
                              target: Target, dep_id: uuid.UUID,
                              stored: dict[str, object], pull_images: bool) -> Deployment:
        assert scope.principal is not None
        revision_number = (await scope.uow.stacks.get_revision_by_id(revision_id)).number
        dep = await scope.uow.deployments.add(Deployment(
            organization_id=scope.org, stack_id=stack.id, revision_id=revision_id,
            target_id=target.id, project_name=await project_of(scope.uow, stack, target.id),
            variables=stored, status=DeploymentStatus.PENDING,
            actor_id=scope.principal.user_id, id=dep_id, created_at=self.ctx.clock(),
            runner=None if self.queue else self.core.runner,
            heartbeat_at=None if self.queue else self.ctx.clock(),
            revision_number=revision_number, pull_images=pull_images,
        ))
        scope.record(DeploymentCreated.TYPE, "deployment", dep.id, DeploymentCreated(
            stack_id=str(stack.id), target_id=str(target.id), stack_name=stack.name,
            target_name=target.name, project=dep.project_name,
            status=dep.status.value).to_data())
        return dep

    # -- workers (server mode with a job queue) ----------------------------------------------

    async def workers(self, principal: Principal) -> dict[str, object]:
        """The workers alive (their last heartbeat, unix seconds), the jobs queued,
        running and dead, and the dead jobs of the caller's organization."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            if self.queue is None:
                return {"queue": False, "workers": {}, "queued": 0, "running": 0,
                        "dead": 0, "dead_jobs": []}
            counts = await self.queue.counts()
            dead = []
            for dead_id, fields in await self.queue.dead_jobs():
                try:
                    dep = await scope.deployment(uuid.UUID(fields["deployment"]))
                except (WindFlowError, KeyError, ValueError):
                    continue  # another organization's, or gone
                dead.append({"id": dead_id, "deployment_id": str(dep.id),
                             "reason": fields.get("reason", ""),
                             "deliveries": int(fields.get("deliveries", "0"))})
            return {"queue": True, "workers": await self.queue.workers(),
                    "queued": counts.queued, "running": counts.running,
                    "dead": counts.dead, "dead_jobs": dead}

    async def retry_dead(self, principal: Principal, dead_id: str) -> Rollout:
        """Deploy a dead-lettered job's deployment again (a new deployment, the same
        revision and values); the dead entry goes."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            dep_id = await self.queue.dead_job(dead_id) if self.queue else None
            if dep_id is None:
                raise NotFoundError("dead job", dead_id)
            await scope.deployment(dep_id)  # the caller's organization's
        rollout = await self.redeploy(principal, dep_id)
        assert self.queue is not None
        await self.queue.drop_dead(dead_id)
        return rollout

    async def reconcile_unfinished(self) -> list[Deployment]:
        """Settle what a previous run of the app left pending or running (once, at
        start-up, before any deploy); with a job queue, the workers do."""
        if self.queue is not None:
            return []
        return await self.rollouts.reconcile_unfinished()

    async def shutdown(self) -> None:
        """Stop running deployments (they are reconciled at the next start); idempotent."""
        await self.rollouts.shutdown()


def _retrieve(task: asyncio.Future[Rollout]) -> None:
    """The commit-and-start task of a caller that was cancelled: log what went wrong."""
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        if not isinstance(exc, WindFlowError):
            log.error("deploy: committing or starting failed", exc_info=exc)

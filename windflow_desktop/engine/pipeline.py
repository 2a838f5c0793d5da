"""``DeploymentPipeline``: one deployment on one target, stage by stage, recorded.

Stages: ``preflight`` (probe: Compose present, disk, memory, listening ports) →
``validate`` (static checks, values, files staged as ``.next`` and ``compose config`` run
on the target, published ports free) → ``pull`` (missing images only, progress per
image) → ``up`` (files put in place, ``up -d --remove-orphans``) → ``health`` (every
service running, healthy where it has a healthcheck, no restart loop, stable for
``settle_s``) → ``done``, then a ``watch`` (``watch_s``) that still rolls back a service
that dies soon after. Each stage gets a ``DeploymentStageRecord`` (start, end,
outcome) and a ``deployment.stage_changed`` event. Every output line is stored with its
seq and published in batches as ``deployment.log`` events.

Failure before ``up`` changes nothing on the target (the staged files are removed).
Failure in ``up``/``health`` re-applies the last succeeded deployment of the same stack
on the same target (``rolled_back``), or takes the project down (``failed``). A cancel
stops at the next safe point: before ``up`` it leaves the target as it was; once ``up``
has started it lets ``up`` finish and then rolls back (``cancelled``).

``reconcile`` settles a deployment a dead process left ``pending``/``running``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from ..domain.deployment_flow import HOLDS, Action, require
from ..domain.enums import ACTIVE_DEPLOYMENT, DeploymentStage, DeploymentStatus, LogStream
from ..domain.errors import DeploymentError, NotFoundError, WindFlowError
from ..domain.events import DeploymentFinished, Event
from ..domain.models import (
    AuditEvent,
    Deployment,
    DeploymentStageRecord,
    DeployPreview,
    PreflightCheck,
    StackRevision,
    Target,
    utcnow,
)
from ..domain.variables import mask_values, parse_spec
from ..domain.words import plural, words
from ..repositories.protocols import Backend
from ..security.redaction import KNOWN_SECRETS, mask
from .compose import (
    ComposeProject,
    ContainerState,
    TargetFacts,
    TargetPlace,
    facts_of,
    locate,
    probe_host,
    reserved_variables,
)
from .compose_model import model_images, model_ports, model_services, parse_model
from .compose_validation import check_values, validate_compose
from .executor import Executor, run_to_end
from .lines import cap_line, mask_secrets

log = logging.getLogger("windflow.engine.pipeline")

SECRET_REF = "secret_ref"
_STREAMS = {s.value: s for s in LogStream}


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class ExecutorProvider(Protocol):
    """Gives the (pooled) executor of a target: the app passes its ``ExecutorPool``."""

    async def executor(self, target: Target) -> Executor: ...


class SecretReader(Protocol):
    async def aget(self, name: str) -> str | None: ...


@dataclass
class PipelineSettings:
    health_timeout_s: float = 120.0
    # Every container must have been running this long, counted from its own
    # State.StartedAt by the target's clock, before health passes (a restart resets it).
    # 0: health passes as soon as every service runs; what dies later is the watch's.
    settle_s: float = 0.0
    poll_s: float = 0.15
    # After a deployment succeeded, its services are checked for ``watch_s`` more (after
    # 0.25 s, then twice as long each time up to every ``watch_poll_s``): an exit, a restart
    # loop or an unhealthy state in that time rolls back exactly as a failed health stage
    # does. A newer action on the project ends the watch.
    watch_s: float = 10.0
    watch_poll_s: float = 1.0
    # No watch follows a rollback or a start: their health keeps a settle window.
    recovery_settle_s: float = 0.5
    # A process running deployments says so every ``heartbeat_s``; one silent for
    # ``runner_stale_s`` (or, on this machine, whose process is gone) runs nothing.
    heartbeat_s: float = 10.0
    runner_stale_s: float = 45.0
    restart_loop_after: int = 2  # restarts seen during health that mean a loop
    min_disk_mb: int = 200
    min_memory_mb: int = 32
    log_flush_s: float = 0.05
    log_batch: int = 2000
    # A deployment keeps its newest ``max_log_lines`` lines: older ones are deleted as
    # the log grows (each time it is a tenth over) and at the end of each run, and one
    # system line in their place says how many went.
    max_log_lines: int = 100_000
    projects_root: Callable[[Target], str | None] = field(default=lambda target: None)
    compose_flavour: str | None = None  # force "v1"/"v2"; None: v2 when present
    # A stored scan younger than this that found a Compose tells preflight which one the
    # target has (the live probe still reads home, disk, memory and ports); older, none, or
    # a scan without Compose: probe it. Scans run on demand (wizard, Scan button) and a
    # Compose install rarely changes; one that vanished still fails in validate (compose
    # config) before anything changes on the target.
    scan_fresh_s: float = 24 * 3600.0


def project_name(stack_slug: str, stack_id: uuid.UUID, target_id: uuid.UUID) -> str:
    """Stable per (stack, target): a redeploy updates the same Compose project in place."""
    digest = hashlib.sha1(f"{stack_id}/{target_id}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", stack_slug.lower()).strip("-")[:30] or "stack"
    return f"wf-{slug}-{digest}"


class CancelToken:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class _Cancelled(Exception):
    pass


LOG_EVENT_BYTES = 1 << 20
"""Line text per ``deployment.log`` event: far below the bus's entry cap even when every
line is a capped 16 KiB one."""


def log_event_chunks(batch: list[tuple[int, datetime, LogStream, str]], max_lines: int
                  ) -> list[list[tuple[int, datetime, LogStream, str]]]:
    """``batch`` cut into runs of at most ``max_lines`` lines and ``LOG_EVENT_BYTES``."""
    chunks: list[list[tuple[int, datetime, LogStream, str]]] = [[]]
    size = 0
    for row in batch:
        if chunks[-1] and (len(chunks[-1]) >= max_lines
                           or size + len(row[3]) > LOG_EVENT_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(row)
        size += len(row[3])
    return chunks


class LogWriter:
    """Numbers lines, redacts secret values, stores them in batches and publishes each
    stored batch as one ``deployment.log`` event (data: ``{"lines": [[seq, ts, stream,
    line], …]}``), and keeps the stored log within ``max_log_lines`` (oldest trimmed).
    ``add`` is synchronous (executor callbacks); ``flush`` drains."""

    def __init__(self, pipeline: DeploymentPipeline, deployment: Deployment, first_seq: int,
                 redact: list[str]) -> None:
        self._p = pipeline
        self._dep = deployment
        self._seq = first_seq
        self._redact = [s for s in redact if len(s) >= 4]
        self._registered: list[str] = []  # in the process's file log while running
        self._buffer: list[tuple[int, datetime, LogStream, str]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stored_seq = first_seq
        self._trimmed_through = 0  # as far as this writer knows (a trim is idempotent)
        self.count = 0

    def start(self) -> None:
        self._registered = KNOWN_SECRETS.add(self._redact)
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name=f"deployment-log-{self._dep.id}")

    def redact(self, text: str) -> str:
        """``text`` with every secret value of the run masked (lines, errors, details),
        also the start of one that a line's cut left behind."""
        return mask_secrets(text, self._redact)

    def add(self, stream: str, line: str) -> None:
        line = cap_line(self.redact(line))
        self._seq += 1
        self._buffer.append((self._seq, self._p.clock(), _STREAMS[stream], line))
        if len(self._buffer) >= self._p.settings.log_batch:
            self._wake.set()

    def system(self, line: str) -> None:
        self.add(LogStream.SYSTEM.value, line)

    async def _loop(self) -> None:
        failures = 0
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._p.settings.log_flush_s)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # the lines are kept; a failed write is tried again
                failures += 1
                log.warning("deployment %s: storing %d log lines failed (attempt %d)",
                            self._dep.id, len(self._buffer), failures, exc_info=True)
                await asyncio.sleep(min(0.1 * 2 ** min(failures, 4), 1.0))
            else:
                failures = 0

    async def flush(self, *, exact: bool = False) -> None:
        """Store and publish the buffered lines; trim the stored log when it is a tenth
        over its cap (``exact``: whenever it is over)."""
        async with self._lock:
            while self._buffer:
                batch, self._buffer = self._buffer, []
                trim = self._trim_through(batch[-1][0], exact=False)
                try:
                    async with self._p.backend.unit_of_work() as uow:
                        await uow.deployments.append_log_rows(self._dep.id, batch)
                        if trim:
                            await self._trim(uow, trim)
                        await uow.commit()
                except BaseException:
                    self._buffer[:0] = batch  # back in front, in order: the next flush retries
                    raise
                self.count += len(batch)
                self._stored_seq = batch[-1][0]
                self._trimmed_through = max(self._trimmed_through, trim)
                for chunk in log_event_chunks(batch, self._p.settings.log_batch):
                    await self._p.publish(Event(
                        event_type="deployment.log", aggregate_type="deployment",
                        aggregate_id=str(self._dep.id),
                        organization_id=str(self._dep.organization_id),
                        data={"lines": [[seq, ts.isoformat(), stream.value, line]
                                        for seq, ts, stream, line in chunk]},
                    ))
            trim = self._trim_through(self._stored_seq, exact=True) if exact else 0
            if trim:
                async with self._p.backend.unit_of_work() as uow:
                    await self._trim(uow, trim)
                    await uow.commit()
                self._trimmed_through = trim

    async def _trim(self, uow: Any, through: int) -> None:
        cap = self._p.settings.max_log_lines
        await uow.deployments.trim_logs(
            self._dep.id, through,
            f"… {through:,} older lines were trimmed: a deployment keeps its newest "
            f"{cap:,} lines", self._p.clock())

    def _trim_through(self, last_seq: int, *, exact: bool) -> int:
        """The seq through which to trim after storing up to ``last_seq`` (0: none)."""
        cap = self._p.settings.max_log_lines
        through = last_seq - cap
        slack = 0 if exact else max(cap // 10, 1)
        return through if through - self._trimmed_through > slack else 0

    async def close(self) -> None:
        """Store and publish what is left, trimmed to the cap; the loop is never
        cancelled mid-write (that would leave SQLite's write lock with a half-closed
        transaction)."""
        self._closing = True
        self._wake.set()
        try:
            if self._task is not None:
                task, self._task = self._task, None
                await asyncio.gather(task, return_exceptions=True)
            await self.flush(exact=True)
        finally:
            registered, self._registered = self._registered, []
            KNOWN_SECRETS.remove(registered)


@dataclass
class _Run:
    """The state of one pipeline run."""

    deployment: Deployment
    target: Target
    revision: StackRevision
    executor: Executor
    logs: LogWriter
    cancel: CancelToken
    values: dict[str, str] = field(default_factory=dict)
    place: TargetPlace | None = None
    facts: TargetFacts | None = None
    project: ComposeProject | None = None
    stage_seq: int = 0
    changed_target: bool = False
    present_images: set[str] | None = None
    watch: tuple[list[str], dict[str, int]] | None = None  # (services, restart baseline)
    # Stage records that ended well, stored with the run's next write (the next stage's
    # start or the finish): one transaction per stage transition instead of two.
    ended: list[DeploymentStageRecord] = field(default_factory=list)
    # Deployment fields stored with the first stage's start (status running, runner…).
    opening: dict[str, Any] = field(default_factory=dict)
    # Preflight and validate overlap: validate starts once preflight has located the
    # project (Compose + home) and waits for the host checks before its port check.
    located: asyncio.Event = field(default_factory=asyncio.Event)
    host_checked: asyncio.Event = field(default_factory=asyncio.Event)
    preflight_over: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Watch:
    """The post-success watch of one project. ``stop`` asks it to end at its next check
    (it never stops inside a database write); ``phase`` says what it is doing: watching,
    ``waiting`` for the project's lock to roll back (safe to cancel), or ``recovering``
    (holds the lock; waited for, not stopped)."""

    deployment_id: uuid.UUID
    task: asyncio.Task[None] | None = None
    phase: str = "watching"
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = ""


class DeploymentPipeline:
    """Runs, rolls back, stops, starts, removes and reconciles deployments."""

    def __init__(
        self,
        backend: Backend,
        bus: EventPublisher,
        executors: ExecutorProvider,
        secrets: SecretReader,
        *,
        settings: PipelineSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        runner: str | None = None,
    ) -> None:
        # host:pid:nonce — the nonce tells two runs apart that got the same pid (in a
        # container, the app's pid is the same at every start).
        self.runner = runner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.backend = backend
        self.bus = bus
        self.executors = executors
        self.secrets = secrets
        self.settings = settings or PipelineSettings()
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._watches: dict[str, _Watch] = {}  # project → its post-success watch
        self._closing = False  # set by stop_watches: no new watch starts

    async def publish(self, event: Event) -> None:
        try:
            await self.bus.publish(event)
        except Exception:  # stored already; a lost event must not stop the deployment
            log.warning("event %s could not be published", event.event_type, exc_info=True)

    def is_live(self, dep: Deployment) -> bool:
        """Whether another process may still be running ``dep`` (this process's own
        deployments are the caller's to know: a row of ours no pipeline or watch holds
        is stuck, not live). On this machine the process must still exist; elsewhere its
        heartbeat must be younger than ``runner_stale_s`` (by this machine's clock)."""
        if dep.runner is None or dep.runner == self.runner:
            return dep.id in self.recovering()
        host, pid = _host_and_pid(dep.runner)
        if host == _host_and_pid(self.runner)[0] and not _process_exists(pid):
            return False
        return dep.heartbeat_at is not None and \
            (self.clock() - dep.heartbeat_at).total_seconds() < self.settings.runner_stale_s

    def recovering(self) -> set[uuid.UUID]:
        """Deployments a watch of this process is rolling back (they run again)."""
        return {w.deployment_id for w in self._watches.values() if w.phase == "recovering"}

    def _lock(self, project: str) -> asyncio.Lock:
        return self._locks.setdefault(project, asyncio.Lock())

    # -- the run ------------------------------------------------------------------------

    async def run(self, deployment_id: uuid.UUID, cancel: CancelToken | None = None
                  ) -> Deployment:
        """Run a pending deployment to its end; returns it in its final state."""
        cancel = cancel or CancelToken()
        dep, target, revision = await self._load(deployment_id)
        async with self._lock(dep.project_name):
            await self.stop_watch(dep.project_name, "a newer deployment of this project started")
            try:
                run = await self._open_run(dep, target, revision, cancel)
            except WindFlowError as exc:  # no secret, no connection: nothing ran
                await self.fail_unstarted(dep, exc.message)
                return await self.get(deployment_id)
            try:
                await self._walk(run)
            finally:
                await run.logs.close()
            if run.watch is not None:  # after the close: the watch's lines number on
                self._start_watch(run, *run.watch)
        return await self.get(deployment_id)

    async def fail_unstarted(self, dep: Deployment, error: str,
                             status: DeploymentStatus = DeploymentStatus.FAILED) -> None:
        """End a deployment that never reached the target (one event, no stages)."""
        error = mask(error, await self._secret_values(dep))
        now = self.clock()
        async with self.backend.unit_of_work() as uow:
            row = await uow.deployments.get(dep.id)
            row.status, row.error, row.finished_at = status, error, now
            await uow.deployments.save(row)
            payload = await _finished(uow, dep, status, error)
            await uow.commit()
        await self.publish(_event(dep, payload.TYPE, payload.to_data()))

    async def _open_run(self, dep: Deployment, target: Target, revision: StackRevision,
                        cancel: CancelToken) -> _Run:
        async with self.backend.unit_of_work() as uow:
            first_seq = await uow.deployments.last_log_seq(dep.id)
            stage_seq = len(await uow.deployments.stages(dep.id))
        values = await self.resolve_values(dep)
        secrets = [v for k, v in values.items() if isinstance(dep.variables.get(k), dict)]
        # The executor first: when the target cannot be had, no log writer task is left.
        executor = await self.executors.executor(target)
        logs = LogWriter(self, dep, first_seq, secrets)
        logs.start()
        return _Run(dep, target, revision, executor, logs, cancel, values,
                    stage_seq=stage_seq)

    async def _walk(self, run: _Run) -> None:
        dep = run.deployment
        now = self.clock()  # stored with the first stage's start (one write, one event)
        run.opening = {"status": DeploymentStatus.RUNNING, "started_at": now,
                       "runner": self.runner, "heartbeat_at": now}
        run.logs.system(f"Deploying revision {run.revision.number} to {run.target.name} "
                        f"as project {dep.project_name}")
        try:
            model = await self._check_target(run)
            await self._stage(run, DeploymentStage.PULL, lambda r: self._pull(r, model))
        except _Cancelled:
            await self._discard(run)
            await self._finish(run, DeploymentStatus.CANCELLED,
                               "cancelled before anything changed on the target")
            return
        except Exception as exc:
            await self._discard(run)
            await self._finish(run, DeploymentStatus.FAILED, _message(exc))
            if not isinstance(exc, WindFlowError):
                raise
            return
        failure: str | None = None
        baseline: dict[str, int] = {}
        try:
            await self._stage(run, DeploymentStage.UP, self._up, cancellable=False)
            baseline = await self._stage(run, DeploymentStage.HEALTH,
                                         lambda r: self._health(r, model))
        except _Cancelled:
            failure = "cancelled"
        except Exception as exc:
            failure = _message(exc)
            if not isinstance(exc, WindFlowError):
                log.exception("deployment %s: unexpected error", dep.id)
        if failure is None:  # the done record commits with the status: one write less
            run.ended.append(
                self._new_stage_record(run, DeploymentStage.DONE.value, "succeeded", ""))
            await self._finish(run, DeploymentStatus.SUCCEEDED, None)
            run.watch = (model_services(model), baseline)
            return
        await self._recover(run, failure)

    async def _stage(self, run: _Run, stage: DeploymentStage,
                     body: Callable[[_Run], Any], *, cancellable: bool = True) -> Any:
        if cancellable and run.cancel.cancelled:
            raise _Cancelled()
        record = await self._record_stage(run, stage.value, "running", "", current=stage)
        started = time.perf_counter()
        try:
            result = await body(run)
        except _Cancelled as exc:
            await self._end_stage(run, record, "cancelled", str(exc) or "cancelled by the user")
            raise
        except asyncio.CancelledError:
            await self._end_stage(run, record, "cancelled", "stopped")
            raise
        except BaseException as exc:
            await self._end_stage(run, record, "failed", _message(exc))
            run.logs.add("stderr", f"{stage.value} failed: {_message(exc)}")
            raise
        await self._end_stage(run, record, "succeeded",
                              f"{time.perf_counter() - started:.2f} s", defer=True)
        return result

    # -- stages ------------------------------------------------------------------------

    async def _locate(self, executor: Executor, target: Target) -> TargetPlace:
        """The target's home and Compose: from a fresh scan (else asked), unless the
        settings force a flavour."""
        place = await locate(executor, known_compose=await self._scanned_compose(target))
        forced = self.settings.compose_flavour
        if forced and place.compose and forced != place.compose:
            place = replace(place, compose=forced, compose_version="(forced by settings)")
        return place

    async def _probe(self, executor: Executor, target: Target) -> TargetFacts:
        """``_locate`` and the live host facts (disk, memory, ports) side by side."""
        place, host = await asyncio.gather(self._locate(executor, target),
                                           probe_host(executor))
        return facts_of(place, host)

    def _project_at(self, executor: Executor, target: Target, name: str,
                    place: TargetPlace) -> ComposeProject:
        """The Compose project ``name`` in the target's projects folder (a name that is
        not one WindFlow makes is refused: ``ValidationError``)."""
        root, guarded = self._root(target, place.home)
        return ComposeProject(executor, name, root, flavour=place.compose or "v2",
                              guarded=guarded)

    def _root(self, target: Target, home: str) -> tuple[str, tuple[str, ...]]:
        """The projects folder of ``target`` and the folders above it that must be the
        user's own (``~/.windflow`` for the default root)."""
        configured = self.settings.projects_root(target)
        if configured:
            return configured, ()
        if not home.startswith("/"):
            raise DeploymentError(f"{target.name} gave no usable home folder ({home!r})")
        return f"{home}/.windflow/projects", (f"{home}/.windflow",)

    async def _scanned_compose(self, target: Target) -> tuple[str | None, str] | None:
        """(flavour, version) from the stored scan when it is fresh and found a Compose;
        None sends preflight to ask the target (a scan that found none is re-checked)."""
        async with self.backend.unit_of_work() as uow:
            caps = {c.kind: c for c in await uow.targets.capabilities(target.id)}
        now = self.clock()
        for kind, flavour in (("compose_v2", "v2"), ("compose_v1", "v1")):
            cap = caps.get(kind)
            if cap is None or (now - cap.scanned_at).total_seconds() > self.settings.scan_fresh_s:
                return None
            if cap.available:
                return flavour, f"{cap.version} (scan)".strip()
        return None

    async def _check_target(self, run: _Run) -> dict[str, Any]:
        """Preflight and validate, overlapping: validate starts as soon as preflight knows
        where the project goes, while preflight still reads disk, memory and ports. Both
        run to their end (neither is stopped inside a write); a preflight failure wins.
        Returns the ``compose config`` model."""
        preflight = asyncio.ensure_future(
            self._stage(run, DeploymentStage.PREFLIGHT, self._preflight))
        located = asyncio.ensure_future(run.located.wait())
        validate: asyncio.Future[Any] | None = None
        try:
            await asyncio.wait((preflight, located), return_when=asyncio.FIRST_COMPLETED)
            if preflight.done():
                preflight.result()  # raises its failure; else it located the project too
            validate = asyncio.ensure_future(
                self._stage(run, DeploymentStage.VALIDATE, self._validate))
            await asyncio.wait((preflight, validate))
            preflight.result()
            return dict(validate.result())
        finally:  # only when we are cancelled (the app quits) are they still running
            pending = [f for f in (preflight, located, validate) if f is not None]
            for future in pending:
                future.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _preflight(self, run: _Run) -> None:
        try:
            await self._preflight_checks(run)
        finally:
            run.preflight_over.set()  # validate's port check waits for this

    async def _preflight_checks(self, run: _Run) -> None:
        place = await self._locate(run.executor, run.target)
        if place.compose is None:
            raise DeploymentError(
                f"{run.target.name} has neither Docker Compose v2 (docker compose) nor v1 "
                "(docker-compose): install one of them on the target")
        s = self.settings
        run.project = self._project_at(run.executor, run.target, run.deployment.project_name,
                                       place)
        run.place = place
        run.located.set()
        facts = facts_of(place, await probe_host(run.executor))
        run.facts = facts
        run.logs.system(f"Compose {facts.compose} {facts.compose_version}; "
                        f"disk free {facts.disk_free_mb} MB; memory available "
                        f"{facts.memory_available_mb} MB")
        if facts.disk_free_mb is not None and facts.disk_free_mb < s.min_disk_mb:
            raise DeploymentError(f"{run.target.name} has only {facts.disk_free_mb} MB of disk "
                                  f"free (at least {s.min_disk_mb} MB needed)")
        if facts.memory_available_mb is not None and facts.memory_available_mb < s.min_memory_mb:
            raise DeploymentError(f"{run.target.name} has only {facts.memory_available_mb} MB "
                                  f"of memory available (at least {s.min_memory_mb} MB)")
        run.host_checked.set()

    async def _validate(self, run: _Run) -> dict[str, Any]:
        specs = parse_spec(run.revision.variables)
        # Parsing may take a while on a big file: never on the loop (the Qt thread).
        report = await asyncio.to_thread(validate_compose, run.revision.compose_yaml, specs)
        problems = (report.errors + check_values(report, specs, run.values)
                    + reserved_variables(spec.name for spec in specs))
        if problems:
            raise DeploymentError("; ".join(str(p) for p in problems[:5]))
        project = _project(run)
        await project.stage(run.revision.compose_yaml, run.values)
        # Independent reads on the target, at once: the model, our containers, the images.
        try:
            model, containers, run.present_images = await asyncio.gather(
                project.config(staged=True, on_line=run.logs.add), project.ps(),
                project.present_images())
        except DeploymentError as exc:
            if run.place is not None and run.place.compose_version.endswith("(scan)"):
                raise DeploymentError(
                    f"{exc.message} (Compose {run.place.compose} was taken from the last "
                    f"scan of {run.target.name}; scan it again if that changed)") from exc
            raise
        await run.preflight_over.wait()  # it read the listening ports (or failed)
        if run.facts is None or not run.host_checked.is_set():
            raise _Cancelled("preflight failed")
        own: set[tuple[str, int]] = set()
        for container in containers:
            own |= container.ports
        taken = sorted((model_ports(model) & run.facts.listening) - own)
        if taken:
            ports = ", ".join(f"{port}/{proto}" for proto, port in taken)
            raise DeploymentError(f"port {ports} is already in use on {run.target.name}")
        run.logs.system(f"compose config: {plural(len(model_services(model)), 'service')} "
                        f"({', '.join(model_services(model))})")
        return dict(model)

    async def _pull(self, run: _Run, model: Mapping[str, Any]) -> None:
        images = model_images(model)

        def progress(done: int, total: int, image: str) -> None:
            run.logs.system(f"images {done}/{total}" + (f": pulled {image}" if image else ""))

        await _project(run).pull(images, on_line=run.logs.add, on_progress=progress,
                                 should_stop=lambda: run.cancel.cancelled,
                                 present=run.present_images)
        if run.cancel.cancelled:
            raise _Cancelled()

    async def _up(self, run: _Run) -> None:
        project = _project(run)
        run.changed_target = True
        await project.up(on_line=run.logs.add, promote=True)

    async def _health(self, run: _Run, model: Mapping[str, Any]) -> dict[str, int]:
        return await self.wait_healthy(_project(run), model_services(model), run.logs,
                                       run.cancel)

    async def wait_healthy(self, project: ComposeProject, services: list[str],
                           logs: LogWriter, cancel: CancelToken | None = None, *,
                           settle_s: float | None = None) -> dict[str, int]:
        """Every service running (healthy where it has a healthcheck), no restart loop, and
        every container running for ``settle_s`` since its own ``State.StartedAt``.

        Uptime is counted by the target's clock, read in the same command as the inspect,
        so the part of the window that passed during ``up`` counts; a restart changes
        StartedAt and starts the window again. If the clocks disagree (a negative uptime)
        or a time is unreadable, the window counts from when this loop first saw the
        container running with that StartedAt. Exits, restart loops and unhealthy states
        seen at any check fail the stage. Returns the restart count each container had
        when first seen (the baseline the post-success watch goes on from)."""
        s = self.settings
        settle = s.settle_s if settle_s is None else settle_s
        deadline = time.monotonic() + s.health_timeout_s
        first_restarts: dict[str, int] = {}
        first_seen: dict[tuple[str, str], float] = {}  # (container, StartedAt) → monotonic
        announced = False
        waiting = ""
        while True:
            if cancel is not None and cancel.cancelled:
                raise _Cancelled()
            states = await project.ps()
            now = time.monotonic()
            await self._fail_on_trouble(project, states, services, first_restarts, logs)
            by_service: dict[str, list[ContainerState]] = {}
            for c in states:
                by_service.setdefault(c.service, []).append(c)
            waiting = ""
            settle_left = 0.0
            for name in services:
                containers = by_service.get(name, [])
                if not containers:
                    waiting = f"{name} has no container"
                for c in containers:
                    if c.status != "running":
                        waiting = f"{name} is {c.status}"
                        continue
                    if c.health == "starting":
                        waiting = f"{name} is starting (healthcheck)"
                    seen = first_seen.setdefault((c.name, c.started_at), now)
                    uptime = max(c.uptime_s or 0.0, now - seen)
                    settle_left = max(settle_left, settle - uptime)
            settling = not waiting  # all up; only the window is left
            if settling:
                if settle_left <= 0:
                    return first_restarts
                if not announced:
                    announced = True
                    logs.system(f"{_running(len(services))}; each is watched "
                                f"until it has run {settle:g} s")
                waiting = f"services have run less than {settle:g} s"
            if now >= deadline:
                raise DeploymentError(f"not healthy within {s.health_timeout_s:g} s: {waiting}")
            # While only the window is left, the next check is at its end (at most 1 s
            # away): that check sees an exit or a restart (a new StartedAt) in between.
            pause = min(settle_left + 0.005, 1.0) if settling else s.poll_s
            await asyncio.sleep(pause)

    async def _fail_on_trouble(self, project: ComposeProject, states: list[ContainerState],
                               services: list[str], first_restarts: dict[str, int],
                               logs: LogWriter) -> None:
        """Raise for an exited container (its last lines go to the log), a restart loop
        (counted from ``first_restarts``, filled in here) or an unhealthy one."""
        wanted = set(services)
        for c in states:
            if c.service not in wanted:
                continue
            first = first_restarts.setdefault(c.name, c.restart_count)
            if c.status in ("exited", "dead"):
                with contextlib.suppress(WindFlowError):  # its last words, when they come
                    for line in await project.logs_tail(c.name):
                        logs.add("stderr", f"{c.service} | {line}")
                raise DeploymentError(f"service {c.service} exited with code {c.exit_code}")
            if c.restart_count - first >= self.settings.restart_loop_after:
                raise DeploymentError(f"service {c.service} is in a restart loop "
                                      f"({c.restart_count} restarts)")
            if c.health == "unhealthy":
                raise DeploymentError(f"service {c.service} is unhealthy")

    # -- the watch after success ------------------------------------------------------------

    def _start_watch(self, run: _Run, services: list[str], baseline: dict[str, int]) -> None:
        if self.settings.watch_s <= 0 or self._closing:
            return
        project = _project(run)
        watch = _Watch(run.deployment.id)
        self._watches[project.project] = watch
        watch.task = asyncio.get_running_loop().create_task(
            self._watch(watch, project, services, dict(baseline)),
            name=f"deployment-watch-{run.deployment.id}")

    async def stop_watch(self, project: str, reason: str) -> None:
        """End the watch of ``project`` (call with the project's lock held): one that is
        watching stops at its next check, one waiting for the lock is cancelled (it holds
        nothing), one rolling back is waited for."""
        watch = self._watches.get(project)
        if watch is None or watch.task is None:
            return
        self._ask_to_stop(watch, reason)
        await asyncio.wait({watch.task})  # not gather: cancelling us must not cancel it

    def _ask_to_stop(self, watch: _Watch, reason: str) -> None:
        watch.stop_reason = watch.stop_reason or reason
        watch.stop.set()
        if watch.phase == "waiting" and watch.task is not None:
            watch.task.cancel()

    async def stop_watches(self, grace_s: float = 30.0) -> None:
        """Stop every watch (at shutdown). A watch that is rolling back gets ``grace_s``
        to finish; cut short, its deployment stays running and is reconciled at the next
        start (as failed: its watch failed)."""
        self._closing = True
        watches = [w for w in self._watches.values() if w.task is not None]
        for watch in watches:
            self._ask_to_stop(watch, "the app was closed")
        tasks = {w.task for w in watches if w.task is not None}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def watching(self, deployment_id: uuid.UUID) -> None:
        """Wait until the post-success watch of ``deployment_id`` (if any) has ended."""
        tasks = {w.task for w in self._watches.values()
                 if w.deployment_id == deployment_id and w.task is not None}
        if tasks:
            await asyncio.wait(tasks)

    async def _watch(self, watch: _Watch, project: ComposeProject, services: list[str],
                     baseline: dict[str, int]) -> None:
        s = self.settings
        run: _Run | None = None
        record: DeploymentStageRecord | None = None
        try:
            dep, target, revision = await self._load(watch.deployment_id)
            run = await self._open_run(dep, target, revision, CancelToken())
            run.project = project = ComposeProject(run.executor, project.project,
                                                   project.root, flavour=project.flavour,
                                                   guarded=project.guarded)
            record = await self._record_stage(
                run, "watch", "running", f"checking for {s.watch_s:g} s")
            run.logs.system(f"Watching {', '.join(services)} for {s.watch_s:g} s: an exit, "
                            "a restart loop or an unhealthy state rolls back")
            failure = await self._watch_for_trouble(watch, project, services, baseline,
                                                    run.logs)
            if failure is None:
                outcome, text = (("stopped", watch.stop_reason) if watch.stop.is_set() else
                                 ("succeeded", f"all services stayed up for {s.watch_s:g} s"))
                ended, record = record, None
                await self._end_stage(run, ended, outcome, text)
                run.logs.system(f"Watch {outcome}: {text}")
                await self._publish_stage(dep)
                return
            watch.phase = "waiting"  # a newer action holding the lock cancels us here
            async with self._lock(project.project):
                watch.phase = "recovering"
                ended, record = record, None
                await self._end_stage(run, ended, "failed", failure)
                run.logs.add("stderr", f"after the deployment succeeded: {failure}")
                await self._set(dep, status=DeploymentStatus.RUNNING, finished_at=None,
                                runner=self.runner, heartbeat_at=self.clock())
                await self._recover(run, f"{failure} after the deployment succeeded")
        except asyncio.CancelledError:
            if run is not None and record is not None:
                with contextlib.suppress(Exception):
                    await self._end_stage(run, record, "stopped", watch.stop_reason)
                    await self._publish_stage(run.deployment)
            raise
        except Exception as exc:  # the target or the database: the watch ends, says why
            log.warning("deployment %s: the watch ended: %s", watch.deployment_id,
                        _message(exc), exc_info=not isinstance(exc, WindFlowError))
            if run is not None and record is not None:
                with contextlib.suppress(Exception):
                    await self._end_stage(run, record, "failed",
                                          f"could not watch: {_message(exc)}")
                    await self._publish_stage(run.deployment)
        finally:
            if run is not None:
                with contextlib.suppress(Exception):
                    await run.logs.close()
            self._forget_watch(project.project, watch)

    async def _watch_for_trouble(self, watch: _Watch, project: ComposeProject,
                                 services: list[str], baseline: dict[str, int],
                                 logs: LogWriter) -> str | None:
        """The first trouble seen within ``watch_s``, or None (also when asked to stop).
        A target that cannot be asked for a while is no verdict: the watch goes on."""
        s = self.settings
        deadline = time.monotonic() + s.watch_s
        pause = min(0.25, s.watch_poll_s)
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.stop.wait(), min(pause, left))
            if watch.stop.is_set():
                return None
            pause = min(pause * 2, s.watch_poll_s)
            try:
                states = await project.ps()
            except WindFlowError as exc:
                log.info("watch of %s: %s", project.project, exc.message)
                continue
            try:
                await self._fail_on_trouble(project, states, services, baseline, logs)
            except DeploymentError as exc:
                return exc.message
            missing = set(services) - {c.service for c in states}
            if missing:
                return f"the container of {', '.join(sorted(missing))} is gone"
        return None

    def _forget_watch(self, project: str, watch: _Watch) -> None:
        if self._watches.get(project) is watch:
            del self._watches[project]

    async def _publish_stage(self, dep: Deployment) -> None:
        """Tell every window the stages of ``dep`` changed (status and stage unchanged)."""
        await self.publish(_event(dep, "deployment.stage_changed", {
            "status": dep.status.value, "stage": dep.stage.value if dep.stage else None}))

    # -- recovery -----------------------------------------------------------------------

    async def _recover(self, run: _Run, failure: str) -> None:
        dep = run.deployment
        cancelled = failure == "cancelled"
        final_error = "cancelled by the user" if cancelled else failure
        async with self.backend.unit_of_work() as uow:
            previous = await _last_good(uow, dep)
        record = await self._record_stage(run, "rollback", "running", "")
        project = _project(run)
        if previous is None:
            run.logs.system("No earlier succeeded deployment here: taking the project down")
            try:
                await project.down(on_line=run.logs.add)
            except WindFlowError as exc:
                await self._end_stage(run, record, "failed", _message(exc))
                await self._finish(run, DeploymentStatus.FAILED,
                                   f"{final_error}; taking the project down failed too: "
                                   f"{_message(exc)}")
                return
            await self._end_stage(run, record, "succeeded", "project taken down")
            await self._finish(run, DeploymentStatus.CANCELLED if cancelled
                               else DeploymentStatus.FAILED, final_error)
            return
        prev_rev = await self._revision(previous.revision_id)
        run.logs.system(f"Rolling back to revision {prev_rev.number} "
                        f"(deployment {previous.id})")
        try:
            values = await self.resolve_values(previous)
            await project.stage(prev_rev.compose_yaml, values)
            model = await project.config(staged=True, on_line=run.logs.add)
            await project.up(on_line=run.logs.add, promote=True)
            await self.wait_healthy(project, model_services(model), run.logs,
                                    settle_s=self.settings.recovery_settle_s)
        except WindFlowError as exc:
            await self._end_stage(run, record, "failed", _message(exc))
            await self._finish(run, DeploymentStatus.FAILED,
                               f"{final_error}; the rollback to revision {prev_rev.number} "
                               f"failed too: {_message(exc)}")
            return
        await self._end_stage(run, record, "succeeded", f"revision {prev_rev.number} is back")
        await self._finish(
            run, DeploymentStatus.CANCELLED if cancelled else DeploymentStatus.ROLLED_BACK,
            f"{final_error}; rolled back to revision {prev_rev.number}")

    async def _discard(self, run: _Run) -> None:
        if run.project is not None:
            try:
                await run.project.discard_staged()
            except WindFlowError:
                log.info("could not remove staged files of %s", run.deployment.project_name)

    # -- lifecycle ----------------------------------------------------------------------

    async def lifecycle(self, deployment_id: uuid.UUID, action: str, *,
                        volumes: bool = False) -> Deployment:
        """``stop``, ``start`` or ``remove`` the project of a finished deployment."""
        dep, target, revision = await self._load(deployment_id)
        async with self._lock(dep.project_name):
            # Asked again under the lock: a deploy that held it may have taken the
            # project over since the caller asked (stopping this one would stop that).
            dep = await self._still_may(deployment_id, Action(action))
            await self.stop_watch(dep.project_name, f"the project was asked to {action}")
            run = await self._open_run(dep, target, revision, CancelToken())
            try:
                record = await self._record_stage(run, action, "running", "")
                try:
                    place = await self._locate(run.executor, target)
                    if place.compose is None:
                        raise DeploymentError(f"{target.name} has no Docker Compose")
                    project = self._project_at(run.executor, target, dep.project_name, place)
                    if action == "stop":
                        await project.stop(on_line=run.logs.add)
                        status = DeploymentStatus.STOPPED
                    elif action == "start":
                        await project.start(on_line=run.logs.add)
                        model = await project.config(on_line=run.logs.add)
                        await self.wait_healthy(project, model_services(model), run.logs,
                                                settle_s=self.settings.recovery_settle_s)
                        status = DeploymentStatus.SUCCEEDED
                    elif action == "remove":
                        await project.down(volumes=volumes, on_line=run.logs.add)
                        await project.remove_files()
                        status = DeploymentStatus.REMOVED
                    else:
                        raise ValueError(action)
                except WindFlowError as exc:
                    await self._end_stage(run, record, "failed", _message(exc))
                    raise
                await self._end_stage(run, record, "succeeded",
                                      "volumes removed" if volumes else "")
                await self._set(dep, status=status)
                await self.publish(_event(dep, "deployment.status_changed",
                                          {"status": status.value, "action": action,
                                           "stack_id": str(dep.stack_id),
                                           "target_id": str(dep.target_id)}))
            finally:
                await run.logs.close()
        return await self.get(deployment_id)

    async def preview(self, target: Target, revision: StackRevision,
                      values: Mapping[str, str], project: str | None = None) -> DeployPreview:
        """Preflight checks, then ``compose config`` of ``revision`` with ``values``, run
        on ``target`` in a scratch folder (the real project's files are not touched) under
        ``project``'s name, so it shows the project and network that deploying makes; its
        secret values masked; and the host access the revision needs."""
        executor = await self.executors.executor(target)
        facts = await self._probe(executor, target)
        s = self.settings
        checks: list[PreflightCheck] = []

        def check(name: str, ok: bool, text: str) -> None:
            checks.append(PreflightCheck(name, ok, text))

        check("compose", facts.compose is not None,
              f"Compose {facts.compose} {facts.compose_version}" if facts.compose
              else "no Docker Compose (neither v2 nor v1)")
        if facts.disk_free_mb is not None:
            check("disk", facts.disk_free_mb >= s.min_disk_mb,
                  f"{facts.disk_free_mb} MB disk free (at least {s.min_disk_mb} MB needed)")
        if facts.memory_available_mb is not None:
            check("memory", facts.memory_available_mb >= s.min_memory_mb,
                  f"{facts.memory_available_mb} MB memory available "
                  f"(at least {s.min_memory_mb} MB needed)")
        specs = parse_spec(revision.variables)
        report = await asyncio.to_thread(validate_compose, revision.compose_yaml, specs)
        problems = (report.errors + check_values(report, specs, values)
                    + reserved_variables(spec.name for spec in specs))
        check("files", not problems, "variables and file valid" if not problems
              else "; ".join(str(p) for p in problems[:5]))
        secrets = [values[s.name] for s in specs if s.secret and values.get(s.name)]
        config = ""
        if facts.compose is not None:
            root, guarded = self._root(target, facts.home)
            scratch = ComposeProject(executor, project or f"wf-preview-{uuid.uuid4().hex[:8]}",
                                     root, flavour=facts.compose, guarded=guarded,
                                     folder=f"wf-preview-{uuid.uuid4().hex[:8]}")
            try:
                await scratch.stage(revision.compose_yaml, values)
                config = await scratch.config_text(staged=True)
                model = await asyncio.to_thread(parse_model, config)  # off the loop
                own: set[tuple[str, int]] = set()
                if project:
                    for c in await ComposeProject(executor, project, root,
                                                  flavour=facts.compose).ps():
                        own |= c.ports
                for proto, port in sorted(model_ports(model)):
                    free = (proto, port) not in facts.listening or (proto, port) in own
                    check("port", free, f"port {port}/{proto} " + ("free" if free else "in use"))
            except WindFlowError as exc:
                check("compose config", False, _message(exc))
            finally:  # the staged .env.next holds secret values: never left halfway
                await run_to_end(scratch.remove_files())
        # A failing `compose config` may quote the values it was given.
        masked = tuple(replace(c, detail=mask_values(c.detail, secrets)) for c in checks)
        return DeployPreview(target.name, masked, mask_values(config, secrets),
                             tuple(report.host_access))

    # -- crash reconciliation ------------------------------------------------------------

    async def reconcile(self, deployment_id: uuid.UUID) -> Deployment:
        """Settle a deployment a dead process left unfinished, from the target's state."""
        dep, target, revision = await self._load(deployment_id)
        if dep.status not in ACTIVE_DEPLOYMENT:
            return dep
        async with self.backend.unit_of_work() as uow:
            records = await uow.deployments.stages(dep.id)
        stages = [s.stage for s in records]
        watch_failed = next((s.detail for s in records
                             if s.stage == "watch" and s.outcome == "failed"), None)
        try:
            run = await self._open_run(dep, target, revision, CancelToken())
        except WindFlowError as exc:
            # The target cannot even be reached: say so instead of showing it running.
            return await self._settle_unreachable(dep, target, exc)
        try:
            record = await self._record_stage(run, "reconcile", "running", "")
            reached_up = DeploymentStage.UP.value in stages
            if dep.status is DeploymentStatus.PENDING or not reached_up:
                where = dep.stage.value if dep.stage else "start"
                text = (f"the app stopped during {where}, before anything changed on the "
                        "target; the earlier state is untouched")
                try:
                    place = await self._locate(run.executor, target)
                    await self._project_at(run.executor, target, dep.project_name,
                                           place).discard_staged()
                except WindFlowError:
                    pass
                await self._end_stage(run, record, "succeeded", text)
                await self._finish(run, DeploymentStatus.FAILED, text)
                return await self.get(dep.id)
            try:
                place = await self._locate(run.executor, target)
                if place.compose is None:
                    raise DeploymentError(f"{target.name} has no Docker Compose")
                project = self._project_at(run.executor, target, dep.project_name, place)
                model = await project.config()
                states = await project.ps()
            except WindFlowError as exc:
                text = (f"the app stopped during {dep.stage}; the target could not be checked "
                        f"({_message(exc)}): its state is unknown")
                await self._end_stage(run, record, "failed", text)
                await self._finish(run, DeploymentStatus.FAILED, text)
                return await self.get(dep.id)
            expected = model_services(model)
            running = {c.service for c in states if c.status == "running"
                       and c.health in (None, "healthy")}
            found = ", ".join(sorted(f"{c.service}: {c.status}" for c in states)) or "nothing"
            run.logs.system(f"Reconciling after a restart: found {found}")
            if watch_failed is not None:  # it failed; the app stopped while rolling back
                text = (f"{watch_failed} after the deployment succeeded; the app stopped "
                        f"while rolling back; after the restart found {found}")
                await self._end_stage(run, record, "succeeded", text)
                await self._finish(run, DeploymentStatus.FAILED, text)
            elif expected and set(expected) <= running:
                text = f"reconciled after a restart: {_running(len(expected))}"
                await self._end_stage(run, record, "succeeded", text)
                await self._finish(run, DeploymentStatus.SUCCEEDED, None, note=text)
            else:
                missing = sorted(set(expected) - running)
                text = (f"the app stopped during {dep.stage}; after the restart "
                        f"{', '.join(missing)} not running (found {found})")
                await self._end_stage(run, record, "succeeded", text)
                await self._finish(run, DeploymentStatus.FAILED, text)
        finally:
            await run.logs.close()
        return await self.get(dep.id)

    # -- storage helpers -------------------------------------------------------------------

    async def get(self, deployment_id: uuid.UUID) -> Deployment:
        async with self.backend.unit_of_work() as uow:
            return await uow.deployments.get(deployment_id)

    async def _revision(self, revision_id: uuid.UUID) -> StackRevision:
        async with self.backend.unit_of_work() as uow:
            return await uow.stacks.get_revision_by_id(revision_id)

    async def _still_may(self, deployment_id: uuid.UUID, action: Action) -> Deployment:
        """The deployment as stored now, if the flow table still allows ``action``."""
        async with self.backend.unit_of_work() as uow:
            dep = await uow.deployments.get(deployment_id)
            holder = await uow.deployments.last_with_status(dep.stack_id, dep.target_id,
                                                            HOLDS)
        require(action, dep, holder)
        return dep

    async def _load(self, deployment_id: uuid.UUID
                    ) -> tuple[Deployment, Target, StackRevision]:
        async with self.backend.unit_of_work() as uow:
            dep = await uow.deployments.get(deployment_id)
            target = await uow.targets.get(dep.target_id)
            revision = await uow.stacks.get_revision_by_id(dep.revision_id)
        return dep, target, revision

    async def resolve_values(self, dep: Deployment, *, missing: set[str] | None = None
                             ) -> dict[str, str]:
        """The values ``dep`` runs with, secrets read from the keyring; a secret whose
        entry is gone raises, unless its name is in ``missing`` (given again)."""
        values: dict[str, str] = {}
        for name, value in dep.variables.items():
            if isinstance(value, dict) and SECRET_REF in value:
                secret = await self.secrets.aget(str(value[SECRET_REF]))
                if secret is None and name in (missing or ()):
                    continue
                if secret is None:
                    raise DeploymentError(
                        f"the secret value of {name} is missing from the keyring "
                        f"({value[SECRET_REF]}); deploy again and give it")
                values[name] = secret
            elif value is not None:
                values[name] = str(value)
        return values

    async def _set(self, dep: Deployment, **fields: Any) -> None:
        async with self.backend.unit_of_work() as uow:
            row = await uow.deployments.get(dep.id)
            for key, value in fields.items():
                setattr(row, key, value)
                setattr(dep, key, value)
            await uow.deployments.save(row)
            await uow.commit()
        if "stage" in fields or "status" in fields:
            data = {"status": dep.status.value,
                    "stage": dep.stage.value if dep.stage else None}
            if "started_at" in fields and dep.started_at is not None:
                data["started_at"] = dep.started_at.isoformat()
            await self.publish(_event(dep, "deployment.stage_changed", data))

    async def _record_stage(self, run: _Run, stage: str, outcome: str, detail: str, *,
                            current: DeploymentStage | None = None) -> DeploymentStageRecord:
        """Store a stage record, with the stages that ended before it and the run's
        opening fields; with ``current``, the deployment's current stage changes in the
        same transaction (and ``deployment.stage_changed`` is published)."""
        record = self._new_stage_record(run, stage, outcome, detail)
        dep, opening = run.deployment, run.opening
        async with self.backend.unit_of_work() as uow:
            await self._save_ended(uow, run)
            await uow.deployments.save_stage(record)
            if current is not None or opening:
                row = await uow.deployments.get(dep.id)
                fields = {**opening, **({"stage": current} if current is not None else {})}
                for key, value in fields.items():
                    setattr(row, key, value)
                    setattr(dep, key, value)
                await uow.deployments.save(row)
            await uow.commit()
        run.ended.clear()
        run.opening = {}
        if current is not None or opening:
            data = {"status": dep.status.value, "stage": dep.stage.value if dep.stage else None}
            if "started_at" in opening:
                data["started_at"] = opening["started_at"].isoformat()
            await self.publish(_event(dep, "deployment.stage_changed", data))
        return record

    @staticmethod
    async def _save_ended(uow: Any, run: _Run) -> None:
        for ended in run.ended:
            await uow.deployments.save_stage(ended)

    def _new_stage_record(self, run: _Run, stage: str, outcome: str,
                          detail: str) -> DeploymentStageRecord:
        """The run's next stage record (not stored yet)."""
        run.stage_seq += 1
        now = self.clock()
        return DeploymentStageRecord(run.deployment.id, run.stage_seq, stage, now,
                                     now if outcome != "running" else None, outcome, detail)

    async def _end_stage(self, run: _Run, record: DeploymentStageRecord, outcome: str,
                         detail: str, *, defer: bool = False) -> None:
        """End a stage record; ``defer``: store it with the run's next write."""
        record.finished_at = self.clock()
        record.outcome = outcome
        record.detail = run.logs.redact(detail)[:2000]
        run.ended.append(record)
        if defer:
            return
        async with self.backend.unit_of_work() as uow:
            await self._save_ended(uow, run)
            await uow.commit()
        run.ended.clear()

    async def _settle_unreachable(
        self, dep: Deployment, target: Target, exc: WindFlowError
    ) -> Deployment:
        text = (f"the app stopped during {dep.stage or 'start'}; {target.name} could not be "
                f"reached to check it ({_message(exc)}): its state is unknown")
        logs = LogWriter(self, dep, await self._last_seq(dep),  # flushed by finish
                         await self._secret_values(dep))
        await self._finish_deployment(dep, logs, DeploymentStatus.FAILED, text)
        return await self.get(dep.id)

    async def _secret_values(self, dep: Deployment) -> list[str]:
        """The secret values of ``dep`` still in the keyring (to mask them in texts)."""
        out: list[str] = []
        for value in dep.variables.values():
            if isinstance(value, dict) and SECRET_REF in value:
                try:
                    secret = await self.secrets.aget(str(value[SECRET_REF]))
                except Exception:
                    log.warning("could not read a secret of %s to mask it", dep.id,
                                exc_info=True)
                    continue
                if secret:
                    out.append(secret)
        return out

    async def _last_seq(self, dep: Deployment) -> int:
        async with self.backend.unit_of_work() as uow:
            return int(await uow.deployments.last_log_seq(dep.id))

    async def _finish(self, run: _Run, status: DeploymentStatus, error: str | None,
                      *, note: str | None = None) -> None:
        ended, run.ended = run.ended, []
        opening, run.opening = run.opening, {}
        await self._finish_deployment(run.deployment, run.logs, status, error, note=note,
                                      stage_records=ended, opening=opening)

    async def _finish_deployment(self, dep: Deployment, logs: LogWriter,
                                 status: DeploymentStatus, error: str | None,
                                 *, note: str | None = None,
                                 stage_records: Sequence[DeploymentStageRecord] = (),
                                 opening: Mapping[str, Any] | None = None) -> None:
        """Store the final status (with ``stage_records`` and the run's ``opening``
        fields when no stage stored them, in the same transaction) and publish
        ``deployment.finished``."""
        error = logs.redact(error) if error else error
        note = logs.redact(note) if note else note
        if error:
            logs.add("stderr", f"Deployment {words(status)}: {error}")
        else:
            logs.system(f"Deployment {words(status)}" + (f": {note}" if note else ""))
        await logs.flush()
        now = self.clock()
        async with self.backend.unit_of_work() as uow:
            for record in stage_records:
                await uow.deployments.save_stage(record)
            row = await uow.deployments.get(dep.id)
            for key, value in (opening or {}).items():
                setattr(row, key, value)
                setattr(dep, key, value)
            row.status, row.error, row.finished_at = status, error, now
            dep.status, dep.error, dep.finished_at = status, error, now
            if status is DeploymentStatus.SUCCEEDED:
                row.stage = dep.stage = DeploymentStage.DONE
            await uow.deployments.save(row)
            data = (await _finished(uow, dep, status, error)).to_data()
            event = _event(dep, DeploymentFinished.TYPE, data)
            await uow.audit.add(AuditEvent(
                id=uuid.UUID(event.event_id), type="deployment.finished",
                aggregate_type="deployment", aggregate_id=str(dep.id),
                organization_id=dep.organization_id, actor_id=dep.actor_id, data=data, ts=now))
            await uow.commit()
        await self.publish(event)


async def _last_good(uow: Any, dep: Deployment) -> Deployment | None:
    """The latest succeeded deployment of the stack on the target other than ``dep`` (a
    watched deployment has succeeded itself), unless the project was removed since: what
    ran before a removal is gone (and so are its secrets)."""
    latest: Deployment | None = await uow.deployments.last_with_status(
        dep.stack_id, dep.target_id, [DeploymentStatus.SUCCEEDED, DeploymentStatus.REMOVED],
        exclude=dep.id)
    return latest if latest is not None and latest.status is DeploymentStatus.SUCCEEDED \
        else None


def _project(run: _Run) -> ComposeProject:
    if run.project is None:
        raise DeploymentError("preflight did not run")
    return run.project


async def _finished(uow: Any, dep: Deployment, status: DeploymentStatus,
                    error: str | None) -> DeploymentFinished:
    """The ``deployment.finished`` payload, with the stack's and the target's names (the
    windows that show it may never have seen either being made)."""
    stack = await uow.stacks.get(dep.stack_id)
    target = await uow.targets.get(dep.target_id)
    return DeploymentFinished(
        status=status.value, error=error, stack_id=str(dep.stack_id),
        target_id=str(dep.target_id), stack_name=stack.name, target_name=target.name,
        stage=dep.stage.value if dep.stage else None)


def _event(dep: Deployment, event_type: str, data: dict[str, Any]) -> Event:
    return Event(event_type=event_type, aggregate_type="deployment",
                 aggregate_id=str(dep.id), organization_id=str(dep.organization_id),
                 actor_id=str(dep.actor_id) if dep.actor_id else None, data=data)


def _host_and_pid(runner: str) -> tuple[str, str]:
    """("host", "pid") of "host:pid:nonce" (or of an older "host:pid")."""
    parts = runner.rsplit(":", 2)
    if len(parts) == 3 and not parts[1].isdigit():  # "host:with:colons:pid"
        parts = runner.rsplit(":", 1)
    return (parts[0], parts[1]) if len(parts) >= 2 else (runner, "")


def _process_exists(pid: str) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would send Ctrl+C there
        return True  # unknown: the heartbeat decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError, OSError):
        return True  # not ours to signal, or not a pid: assume it may live
    return True


def _message(exc: BaseException) -> str:
    if isinstance(exc, WindFlowError):
        return exc.message
    if isinstance(exc, NotFoundError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _running(count: int) -> str:
    """"the service is running" / "all 3 services running"."""
    return "the 1 service running" if count == 1 else f"all {count} services running"

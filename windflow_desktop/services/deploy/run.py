"""One run of a deployment: ``preflight`` (Compose present, disk, memory, listening
ports) and ``validate`` (static checks, values, files staged as ``.next`` and ``compose
config`` run on the target, published ports free), overlapping → ``pull`` (missing
images only, progress per image) → ``up`` (files put in place, ``up -d
--remove-orphans``) → ``health`` (every service running, healthy where it has a
healthcheck, no restart loop, stable for ``settle_s``) → ``done``. Each stage gets a
stage record and a ``deployment.stage_changed`` event.

Failure before ``up`` changes nothing on the target (the staged files are removed).
Failure in ``up``/``health`` goes to ``recover`` (roll back or take down). A cancel stops
at the next safe point: before ``up`` it leaves the target as it was; once ``up`` has
started it lets ``up`` finish and then rolls back (``cancelled``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from ...domain.deployment_flow import StageName, StageOutcome
from ...domain.enums import DeploymentStage, DeploymentStatus
from ...domain.errors import Cancelled, DeploymentError, WindFlowError
from ...domain.models import Deployment, StackRevision, Target
from ...domain.variables import parse_spec
from ...domain.words import plural
from ...engine.compose import facts_of, probe_host, reserved_variables
from ...engine.compose_model import model_images, model_ports, model_services
from ...engine.compose_validation import check_values, validate_compose
from ...engine.container_state import ContainerState
from ...engine.health_wait import wait_healthy
from ...engine.preflight import compose_check, host_checks
from . import places
from .context import CancelToken, DeployContext, message_of
from .journal import Journal
from .logs import LogWriter
from .recover import discard, recover
from .state import RunState, WatchPlan
from .values import resolve, secret_ref

log = logging.getLogger("windflow.deploy")
T = TypeVar("T")


async def open_run(ctx: DeployContext, journal: Journal, dep: Deployment, target: Target,
                   revision: StackRevision, cancel: CancelToken) -> RunState:
    """The state of a new run over ``dep``: its values (secrets read), its target's
    executor and a started log writer (lines and stage records number on)."""
    first_seq, stage_seq = await journal.positions(dep)
    values = await resolve(ctx.secrets, dep.variables)
    secrets = [v for k, v in values.items() if secret_ref(dep.variables.get(k))]
    # The executor first: when the target cannot be had, no log writer task is left.
    executor = await ctx.executors.executor(target)
    logs = LogWriter(ctx, dep, first_seq, secrets)
    logs.start()
    return RunState(dep, target, revision, executor, logs, cancel, values,
                    stage_seq=stage_seq)


async def walk(ctx: DeployContext, journal: Journal, run: RunState) -> None:
    """The stages, then the outcome: succeeded (``run.watch`` says what to watch), or
    what failed before ``up`` (nothing changed), or a recovery."""
    dep = run.deployment
    now = ctx.clock()  # stored with the first stage's start (one write, one event)
    run.opening = {"status": DeploymentStatus.RUNNING, "started_at": now,
                   "runner": ctx.runner, "heartbeat_at": now}
    run.logs.system(f"Deploying revision {run.revision.number} to {run.target.name} "
                    f"as project {dep.project_name}")
    try:
        model = await _check_target(ctx, journal, run)
        await stage(journal, run, DeploymentStage.PULL, lambda: _pull(run, model))
    except Cancelled:
        await discard(run)
        await journal.finish(run, DeploymentStatus.CANCELLED,
                             "cancelled before anything changed on the target")
        return
    except Exception as exc:
        await discard(run)
        await journal.finish(run, DeploymentStatus.FAILED, message_of(exc))
        if not isinstance(exc, WindFlowError):
            raise
        return
    failure: str | None = None
    baseline: dict[str, int] = {}
    try:
        await stage(journal, run, DeploymentStage.UP, lambda: _up(run), cancellable=False)
        baseline = await stage(journal, run, DeploymentStage.HEALTH,
                               lambda: _health(ctx, run, model))
    except Cancelled:
        failure = "cancelled"
    except Exception as exc:
        failure = message_of(exc)
        if not isinstance(exc, WindFlowError):
            log.exception("deployment %s: unexpected error", dep.id)
    if failure is None:  # the done record commits with the status: one write less
        run.ended.append(
            journal.new_stage_record(run, DeploymentStage.DONE.value, StageOutcome.SUCCEEDED, ""))
        if ctx.settings.watch_s > 0:
            # Stored running with the success: whoever sees it succeeded (any process)
            # sees its watch running too, until the watch ends it.
            watch = journal.new_stage_record(run, StageName.WATCH, StageOutcome.RUNNING,
                                             f"checking for {ctx.settings.watch_s:g} s")
            run.ended.append(watch)
            run.watch = WatchPlan(model_services(model), baseline, watch)
        run.opening.update(running_config(run.healthy))
        await journal.finish(run, DeploymentStatus.SUCCEEDED, None)
        return
    await recover(ctx, journal, run, failure)


async def stage(journal: Journal, run: RunState, name: DeploymentStage,
                body: Callable[[], Awaitable[T]], *, cancellable: bool = True) -> T:
    """Run ``body`` as stage ``name``: its record starts, then ends with the outcome (a
    success is stored with the next write)."""
    if cancellable and run.cancel.cancelled:
        raise Cancelled()
    record = await journal.record_stage(run, name.value, StageOutcome.RUNNING, "", current=name)
    started = time.perf_counter()
    try:
        result = await body()
    except Cancelled as exc:
        await journal.end_stage(run, record, StageOutcome.CANCELLED,
                                str(exc) or "cancelled by the user")
        raise
    except asyncio.CancelledError:
        await journal.end_stage(run, record, StageOutcome.CANCELLED, "stopped")
        raise
    except BaseException as exc:
        await journal.end_stage(run, record, StageOutcome.FAILED, message_of(exc))
        run.logs.add("stderr", f"{name.value} failed: {message_of(exc)}")
        raise
    await journal.end_stage(run, record, StageOutcome.SUCCEEDED,
                            f"{time.perf_counter() - started:.2f} s", defer=True)
    return result


async def _check_target(ctx: DeployContext, journal: Journal, run: RunState) -> dict[str, Any]:
    """Preflight and validate, overlapping: validate starts as soon as preflight knows
    where the project goes, while preflight still reads disk, memory and ports. Both
    run to their end (neither is stopped inside a write); a preflight failure wins.
    Returns the ``compose config`` model."""
    preflight = asyncio.ensure_future(
        stage(journal, run, DeploymentStage.PREFLIGHT, lambda: _preflight(ctx, run)))
    located = asyncio.ensure_future(run.located.wait())
    validate: asyncio.Future[Any] | None = None
    try:
        await asyncio.wait((preflight, located), return_when=asyncio.FIRST_COMPLETED)
        if preflight.done():
            preflight.result()  # raises its failure; else it located the project too
        validate = asyncio.ensure_future(
            stage(journal, run, DeploymentStage.VALIDATE, lambda: _validate(run)))
        await asyncio.wait((preflight, validate))
        preflight.result()
        return dict(validate.result())
    finally:  # only when we are cancelled (the app quits) are they still running
        pending = [f for f in (preflight, located, validate) if f is not None]
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _preflight(ctx: DeployContext, run: RunState) -> None:
    try:
        place = await places.place_of(ctx, run.executor, run.target)
        check = compose_check(place)
        if not check.ok:
            raise DeploymentError(f"{run.target.name} has {check.detail}")
        run.project = places.project_at(ctx, run.executor, run.target,
                                        run.deployment.project_name, place)
        run.place = place
        run.located.set()
        host = await probe_host(run.executor)
        run.facts = facts = facts_of(place, host)
        run.logs.system(f"Compose {facts.compose} {facts.compose_version}; "
                        f"disk free {facts.disk_free_mb} MB; memory available "
                        f"{facts.memory_available_mb} MB")
        for check in host_checks(host, ctx.settings.minimums):
            if not check.ok:
                raise DeploymentError(f"{run.target.name} has only {check.detail}")
        run.host_checked.set()
    finally:
        run.preflight_over.set()  # validate's port check waits for this


async def _validate(run: RunState) -> dict[str, Any]:
    specs = parse_spec(run.revision.variables)
    # Parsing may take a while on a big file: never on the loop (the Qt thread).
    report = await asyncio.to_thread(validate_compose, run.revision.compose_yaml, specs)
    problems = (report.errors + check_values(report, specs, run.values)
                + reserved_variables(spec.name for spec in specs))
    if problems:
        raise DeploymentError("; ".join(str(p) for p in problems[:5]))
    project = run.compose()
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
        raise Cancelled("preflight failed")
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


async def _pull(run: RunState, model: Mapping[str, Any]) -> None:
    images = model_images(model)

    def progress(done: int, total: int, image: str) -> None:
        run.logs.system(f"images {done}/{total}" + (f": pulled {image}" if image else ""))

    # An update pulls every image again: a newer one may stand behind the same tag.
    await run.compose().pull(images, on_line=run.logs.add, on_progress=progress,
                             should_stop=lambda: run.cancel.cancelled,
                             present=run.present_images, always=run.deployment.pull_images)
    if run.cancel.cancelled:
        raise Cancelled()


async def _up(run: RunState) -> None:
    run.changed_target = True
    await run.compose().up(on_line=run.logs.add, promote=True)


async def _health(ctx: DeployContext, run: RunState, model: Mapping[str, Any]) -> dict[str, int]:
    return await wait_healthy(run.compose(), model_services(model), ctx.settings.health(),
                              run.logs.add, lambda: run.cancel.cancelled,
                              healthy=run.healthy)


def running_config(containers: Sequence[ContainerState]) -> dict[str, dict[str, str]]:
    """The deployment's ``config_hashes`` and ``image_ids`` by service, from the
    containers its health check saw healthy (no engine call of its own)."""
    hashes: dict[str, str] = {}
    images: dict[str, str] = {}
    for container in containers:
        if container.service:
            if container.config_hash:
                hashes[container.service] = container.config_hash
            if container.image_id:
                images[container.service] = container.image_id
    return {"config_hashes": hashes, "image_ids": images}

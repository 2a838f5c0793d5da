"""After ``up``/``health`` failed (or the watch saw trouble): the last good revision on
that target comes back (``rolled_back``), or the project is taken down (``failed``);
and before ``up``, the staged files are removed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...domain.deployment_flow import StageName, StageOutcome
from ...domain.enums import DeploymentStatus
from ...domain.errors import DeploymentError, WindFlowError
from ...domain.models import Deployment, DeploymentStageRecord
from ...engine.compose import ComposeProject
from ...engine.compose_model import model_services
from ...engine.health_wait import wait_healthy
from .context import DeployContext, message_of
from .journal import Journal
from .state import RunState
from .values import resolve

log = logging.getLogger("windflow.deploy")


async def recover(ctx: DeployContext, journal: Journal, run: RunState, failure: str) -> None:
    dep = run.deployment
    cancelled = failure == "cancelled"
    final_error = "cancelled by the user" if cancelled else failure
    previous = await journal.last_good(dep)
    record = await journal.record_stage(run, StageName.ROLLBACK, StageOutcome.RUNNING, "")
    project = run.compose()
    if previous is None:
        run.logs.system("No earlier succeeded deployment here: taking the project down")
        try:
            await project.down(on_line=run.logs.add)
        except WindFlowError as exc:
            await _failed_too(journal, run, record, exc,
                              f"{final_error}; taking the project down failed too")
            return
        await journal.end_stage(run, record, StageOutcome.SUCCEEDED, "project taken down")
        await journal.finish(run, DeploymentStatus.CANCELLED if cancelled
                             else DeploymentStatus.FAILED, final_error)
        return
    prev_rev = await journal.revision(previous.revision_id)
    run.logs.system(f"Rolling back to revision {prev_rev.number} (deployment {previous.id})")
    try:
        values = await resolve(ctx.secrets, previous.variables)
        await project.stage(prev_rev.compose_yaml, values)
        model = await project.config(staged=True, on_line=run.logs.add)
        if dep.pull_images:
            await _images_back(project, previous, model, run)
        await project.up(on_line=run.logs.add, promote=True)
        await wait_healthy(project, model_services(model),
                           ctx.settings.health(settle_s=ctx.settings.recovery_settle_s),
                           run.logs.add)
    except WindFlowError as exc:
        await _failed_too(journal, run, record, exc, f"{final_error}; the rollback to "
                                                     f"revision {prev_rev.number} failed too")
        return
    await journal.end_stage(run, record, StageOutcome.SUCCEEDED,
                            f"revision {prev_rev.number} is back")
    await journal.finish(
        run, DeploymentStatus.CANCELLED if cancelled else DeploymentStatus.ROLLED_BACK,
        f"{final_error}; rolled back to revision {prev_rev.number}")


async def _images_back(project: ComposeProject, previous: Deployment,
                       model: Mapping[str, Any], run: RunState) -> None:
    """An update pulled new images under the same tags: point each tag back at the image
    the last good deployment ran (recorded when it was healthy), or re-upping its revision
    would run the new — failing — image again."""
    services = model.get("services") or {}
    for service, image_id in sorted(previous.image_ids.items()):
        image = str((services.get(service) or {}).get("image") or "")
        if not image or not image_id.startswith("sha256:"):
            continue
        done = await project.executor.run(["docker", "tag", image_id, image], timeout=60)
        if not done.ok:
            raise DeploymentError(f"could not point {image} back at {image_id[:19]} on "
                                  f"{project.executor.label}: {done.stderr.strip()[-300:]}")
        run.logs.system(f"{image} is the image that ran before again ({image_id[:19]})")


async def _failed_too(journal: Journal, run: RunState, record: DeploymentStageRecord,
                      exc: WindFlowError, text: str) -> None:
    """The recovery failed as well: its stage and the deployment end failed."""
    await journal.end_stage(run, record, StageOutcome.FAILED, message_of(exc))
    await journal.finish(run, DeploymentStatus.FAILED, f"{text}: {message_of(exc)}")


async def discard(run: RunState) -> None:
    """Remove the staged files of a run that stopped before ``up``."""
    if run.project is not None:
        try:
            await run.project.discard_staged()
        except WindFlowError:
            log.info("could not remove staged files of %s", run.deployment.project_name)

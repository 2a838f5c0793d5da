"""What a stack has run on a target, read inside a unit of work: whether a deployment of
it is under way, which one's files and values run there, under which Compose project it
runs, and whether the flow table allows an action on one now."""

from __future__ import annotations

import uuid

from ...domain.compose import project_name
from ...domain.deployment_flow import HOLDS, Action, require
from ...domain.enums import ACTIVE_DEPLOYMENT, DeploymentStatus
from ...domain.errors import ConflictError
from ...domain.models import Deployment, Stack, Target
from ...domain.paging import PageRequest
from ...engine.project_names import is_adopted_name
from ...repositories.protocols import UnitOfWork


async def no_active(uow: UnitOfWork, stack: Stack, target: Target) -> None:
    page = await uow.deployments.list(stack.organization_id, PageRequest(limit=1),
                                      status=list(ACTIVE_DEPLOYMENT), stack_id=stack.id,
                                      target_id=target.id)
    if page.items:
        raise ConflictError(f"{stack.name} is already being deployed to {target.name}; wait "
                            "for it or cancel it")


APPLIED = (DeploymentStatus.SUCCEEDED, DeploymentStatus.STOPPED, DeploymentStatus.REMOVED)


async def project_of(uow: UnitOfWork, stack: Stack, target_id: uuid.UUID) -> str:
    """The Compose project of ``stack`` on the target: the name WindFlow makes, unless the
    stack was adopted there (its newest deployment runs under the name the project had
    before, see ``services/adopt.py``): then that name, so a redeploy updates the adopted
    containers in place instead of starting a second copy beside them."""
    newest = await uow.deployments.last_with_status(stack.id, target_id, list(DeploymentStatus))
    if newest is not None and is_adopted_name(newest.project_name):
        return newest.project_name
    return project_name(stack.slug, stack.id, target_id)


async def last_applied(uow: UnitOfWork, stack_id: uuid.UUID,
                        target_id: uuid.UUID) -> Deployment | None:
    """The deployment whose files and values run on the target (or ran last: stopped or
    removed with its volumes kept); a rolled-back or failed one never was. None when
    none ever was: then the newest, whose ``up`` may have set up the volumes."""
    applied = await uow.deployments.last_with_status(stack_id, target_id, APPLIED)
    if applied is not None:
        return applied
    return await uow.deployments.last_with_status(stack_id, target_id, list(DeploymentStatus))


async def may(uow: UnitOfWork, dep: Deployment, action: Action) -> None:
    """Refuse ``action`` unless the flow table allows it for ``dep`` as it stands."""
    holder = await uow.deployments.last_with_status(dep.stack_id, dep.target_id, HOLDS)
    require(action, dep, holder)

"""The keyring entries that belong to rows: a deployment's secret variables
(``deployment/<id>/var/<NAME>``) and a target's own secret (``Target.secret_ref``).

Deleting the rows (a target with its deployments, an organization with everything in it)
must not leave their secrets behind: the refs are collected in the deleting unit of work
and the entries deleted after its commit (a rollback keeps both)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from ..domain.models import Deployment
from ..domain.paging import PageRequest
from ..repositories.protocols import UnitOfWork
from ..security.secrets import SecretStore
from .deploy.values import secret_refs

log = logging.getLogger("windflow.services.secrets")
_PAGE = 500


def deployment_secret_refs(dep: Deployment) -> list[str]:
    """The keyring names of ``dep``'s secret variables."""
    return secret_refs(dep.variables)


async def deployments_secret_refs(uow: UnitOfWork, organization_id: uuid.UUID, *,
                                  target_id: uuid.UUID | None = None) -> list[str]:
    """The secret refs of every deployment of the organization (on ``target_id`` only
    when given), page by page."""
    refs: list[str] = []
    cursor: str | None = None
    while True:
        page = await uow.deployments.list(organization_id, PageRequest(_PAGE, cursor),
                                          target_id=target_id)
        for dep in page.items:
            refs.extend(deployment_secret_refs(dep))
        if page.next_cursor is None:
            return refs
        cursor = page.next_cursor


async def targets_secret_refs(uow: UnitOfWork, organization_id: uuid.UUID) -> list[str]:
    """The own secret refs (password, key passphrase) of the organization's targets."""
    refs: list[str] = []
    cursor: str | None = None
    while True:
        page = await uow.targets.list(organization_id, PageRequest(_PAGE, cursor))
        refs.extend(t.secret_ref for t in page.items if t.secret_ref)
        if page.next_cursor is None:
            return refs
        cursor = page.next_cursor


async def delete_secrets(secrets: SecretStore, refs: Iterable[str], what: str) -> int:
    """Delete every entry of ``refs`` (best effort: one the keyring refuses is logged
    and the others still go); returns how many were refused."""
    refused = 0
    for ref in dict.fromkeys(refs):
        try:
            await secrets.adelete(ref)
        except Exception:
            refused += 1
            log.warning("a secret of %s could not be removed from the keyring", what,
                        exc_info=True)
    return refused

"""A Deployments store over the real services with no target to reach: for pages that
show deployments written straight into the workspace (nothing runs)."""

from __future__ import annotations

import uuid
from typing import Any

from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.domain.models import Stack, StackRevision, Target
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.stores.deployments import DeploymentsStore
from windflow_desktop.ui.views.deployments import DeploymentsPage


class NoExecutors:
    async def executor(self, target: Target) -> object:
        raise AssertionError("no deployment runs in this test")


async def no_targets(principal: object) -> list[Target]:
    return []


def offline_deployments(ws: Workspace, service_class: type[DeploymentService] =
                        DeploymentService, **store_options: Any
                        ) -> tuple[DeploymentsStore, DeploymentService]:
    svc = ws.services
    secrets = SecretStore(MemoryKeyring())
    core = DeploymentCore(svc.backend, svc.bus, NoExecutors(), secrets)  # type: ignore[arg-type]
    service = service_class(ServiceContext(svc.backend, svc.bus), core, secrets)
    return DeploymentsStore(ws.session, service, no_targets, **store_options), service


def acme_owned_by_alice(ws: Workspace) -> uuid.UUID:
    """alice sets up the organization "Acme" (she is not signed in yet): its id."""
    session = ws.run(ws.services.auth.setup(username="alice", email="alice@example.test",
                                            password=PASSWORD, organization_name="Acme"))
    org = session.principal.organization_id
    assert org is not None
    return org


async def web_on_edge(uow: Any, org: uuid.UUID, revisions: int = 1
                      ) -> tuple[Target, Stack, list[StackRevision]]:
    """The target "edge-1" and the stack "Web" with ``revisions`` empty revisions."""
    target = await uow.targets.add(Target(organization_id=org, name="edge-1"))
    stack = await uow.stacks.add(Stack(organization_id=org, name="Web", slug="web",
                                       current_revision=revisions))
    revs = [await uow.stacks.add_revision(StackRevision(stack.id, n, "services: {}"))
            for n in range(1, revisions + 1)]
    return target, stack, revs


def open_deployments_page(qtbot: QtBot, ws: Workspace, store: DeploymentsStore, *,
                          rows: int, wait_ms: int = 15_000) -> DeploymentsPage:
    """The page over ``store``, shown; alice signs in and ``rows`` rows are listed."""
    page = DeploymentsPage(store)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    ws.run(ws.session.login("alice", PASSWORD))
    qtbot.waitUntil(lambda: page.model.rowCount() == rows, timeout=wait_ms)
    return page

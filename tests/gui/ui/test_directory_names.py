"""The Deployments page names each row's stack and target from the directory store:
an archived stack (not in the Stacks list) still shows its name, and a rename shows at
once (real services on a SQLite file)."""

from __future__ import annotations

import uuid

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import PASSWORD
from tests.support.deployments import offline_deployments
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.models import Deployment, Stack, StackRevision, Target
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.stacks import StackService
from windflow_desktop.services.targets import TargetService
from windflow_desktop.stores.directory import DirectoryStore
from windflow_desktop.ui.views.deployments import DeploymentsPage

WAIT_MS = 15_000


def test_an_archived_stack_keeps_its_name_on_the_deployments_page(
        qtbot: QtBot, workspace: Workspace) -> None:
    ws, svc = workspace, workspace.services
    context = ServiceContext(svc.backend, svc.bus)
    stacks = StackService(context)
    targets = TargetService(context, SecretStore(MemoryKeyring()), None)  # type: ignore[arg-type]
    owner = ws.run(svc.auth.setup(username="alice", email="alice@example.test",
                                  password=PASSWORD, organization_name="Acme")).principal
    org = owner.organization_id
    assert org is not None

    async def fill() -> Stack:
        async with svc.backend.unit_of_work() as uow:
            target = await uow.targets.add(Target(organization_id=org, name="edge-1"))
            stack = await uow.stacks.add(Stack(organization_id=org, name="Old shop",
                                               slug="old-shop", current_revision=1))
            rev = await uow.stacks.add_revision(StackRevision(stack.id, 1, "services: {}"))
            await uow.deployments.add(Deployment(
                organization_id=org, stack_id=stack.id, revision_id=rev.id,
                target_id=target.id, project_name="wf-old-shop-0123abcd",
                status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE))
            await uow.commit()
            return stack

    stack = ws.run(fill())
    ws.run(stacks.archive(owner, stack.id))
    store, _ = offline_deployments(ws)
    directory = DirectoryStore(ws.session, targets, stacks)
    page = DeploymentsPage(store, names=directory.name_of)
    directory.sig_changed.connect(page.refresh_names)
    qtbot.addWidget(page)
    page.show()
    ws.run(ws.session.login("alice", PASSWORD))
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)

    def cell(title: str) -> str:
        column = [page.model.headerData(c, Qt.Orientation.Horizontal)
                  for c in range(page.model.columnCount())
                  ].index(title)
        return str(page.proxy.index(0, column).data())

    qtbot.waitUntil(lambda: cell("Stack") == "Old shop" and cell("Target") == "edge-1",
                    timeout=WAIT_MS)
    ws.run(stacks.update_stack(owner, stack.id, name="Older shop"))
    directory.apply_events([Event("stack.updated", "stack", str(stack.id),
                                  organization_id=str(uuid.uuid4()))])  # another org's
    assert not directory.busy
    directory.apply_events([Event("stack.updated", "stack", str(stack.id),
                                  organization_id=str(org))])
    qtbot.waitUntil(lambda: cell("Stack") == "Older shop", timeout=WAIT_MS)
    ws.run(directory.shutdown())

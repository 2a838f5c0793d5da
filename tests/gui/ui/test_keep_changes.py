""""Keep changes…" on the dashboard over the real services and dockerd: a WindFlow
deployment whose project lost a container by hand is listed under the button; choosing
it and confirming makes what runs the stack's next revision, and drift then finds the
deployment matching. Hidden for a viewer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.support.adopt import APP, compose_up, ids_of, remove
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.models import Deployment
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.services.adopt import AdoptService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.services.drift import DriftService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.stores.adopt import AdoptStore
from windflow_desktop.stores.dashboard import DashboardStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.stores.updates import DriftStore
from windflow_desktop.ui.views.dashboard import DashboardPage

pytestmark = pytest.mark.gui
WAIT_MS = 30_000
SHOT = Path("/tmp/wf-adopt-shots")
TEXT = APP.replace('"${DB_PASSWORD}"', "x").replace('"${GREETING:-hello}"', "hi")


@dataclass
class Env:
    ws: Workspace
    targets: TargetsStore
    drift: DriftStore
    adopt: AdoptStore
    dashboard: DashboardStore
    stacks: StackService


@pytest.fixture
def env(workspace: Workspace, tmp_path: Path) -> Iterator[Env]:
    targets, pool, _keys = alices_targets(workspace, tmp_path)
    svc = workspace.services
    ctx = ServiceContext(svc.backend, svc.bus, clock=svc.clock)
    drift = DriftStore(workspace.session, DriftService(ctx, pool), targets)
    adopt = AdoptStore(AdoptService(ctx, pool, svc.secrets), workspace.session)
    dashboard = DashboardStore(workspace.session, DashboardService(ctx))
    try:
        yield Env(workspace, targets, drift, adopt, dashboard, StackService(ctx))
    finally:
        for store in (dashboard, adopt, drift, targets):
            workspace.run(store.shutdown())
        workspace.run(pool.close())


def test_keep_the_changes_made_by_hand(qtbot: QtBot, env: Env, tmp_path: Path,
                                       docker_engine: DockerEngine) -> None:
    ws = env.ws
    owner = ws.session.require_principal()
    target = ws.run(env.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                                docker_socket=docker_engine.host)))
    stack, revision = ws.run(env.stacks.create_stack(owner, name="Shop", compose_yaml=TEXT))
    project = project_name(stack.slug, stack.id, target.id)
    folder = tmp_path / "deployed"
    folder.mkdir()
    (folder / "compose.yaml").write_text(TEXT)
    compose_up(docker_engine, folder, project, tmp_path)  # as WindFlow's deploy would

    async def record() -> Deployment:
        async with ws.services.backend.unit_of_work() as uow:
            dep = await uow.deployments.add(Deployment(
                organization_id=stack.organization_id, stack_id=stack.id,
                revision_id=revision.id, target_id=target.id, project_name=project,
                status=DeploymentStatus.SUCCEEDED,
                created_at=ws.services.clock()))  # the services' (settable) clock
            await uow.commit()
            return dep

    dep = ws.run(record())
    try:
        page = DashboardPage(env.dashboard, drift=env.drift, adopt=env.adopt)
        qtbot.addWidget(page)
        page.resize(1280, 800)
        page.show()
        button = page.keep_button
        assert button is not None and not button.isVisibleTo(page)  # nothing drifted yet
        # By hand — after the look above: a drift check may follow any health round.
        docker_engine.cli("rm", "-f", ids_of(docker_engine, project)["worker"])
        env.drift.check_now()
        qtbot.waitUntil(lambda: button.isVisibleTo(page), timeout=WAIT_MS)
        [entry] = button.menu_.actions()
        assert entry.text() == "Shop: worker: its container is gone (removed by hand?)"
        SHOT.mkdir(exist_ok=True)
        page.grab().save(str(SHOT / "dashboard-keep.png"))

        entry.trigger()
        box = button.confirm_box
        assert box is not None and "new revision of Shop" in box.text()
        with qtbot.waitSignal(env.adopt.sig_kept, timeout=WAIT_MS) as kept:
            next(b for b in box.buttons() if b.text() == "Keep").click()
        assert kept.args is not None and kept.args[0].revision == 2
        current = ws.run(env.stacks.get_revision(owner, stack.id))
        assert current.number == 2 and "worker" not in current.compose_yaml
        qtbot.waitUntil(lambda: not button.isVisibleTo(page), timeout=WAIT_MS)
        assert "is now revision 2" in page.message_bar.text()

        # A viewer never sees the button.
        ws.run(ws.services.users.create_user(owner, username="vic", email="vic@example.test",
                                             password=PASSWORD, role=Role.VIEWER))
        ws.run(ws.session.logout())
        ws.run(ws.session.login("vic", PASSWORD))
        assert not env.adopt.can_keep
    finally:
        remove(docker_engine, project)
        assert dep.id

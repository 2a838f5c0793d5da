"""The stack's update policy in the window: the choice on the Stacks page stores the policy
(and who chose it) and shows the stored one again when refused; the updates store tells
each automatic update once, a failed one as such (the shell turns it into a
notification), and reports only what the round reported."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.containers import ImageUpdate, UpdateState
from windflow_desktop.domain.enums import Role, UpdatePolicy
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.updates import AutoOutcome, AutoUpdate, UpdateSweep
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.stacks import StackService
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.stores.updates import UpdatesStore
from windflow_desktop.ui.views.stacks import StacksPage

WAIT_MS = 15_000
GOOD = "services:\n  web:\n    image: localhost/busybox\n"
SCREENSHOT = Path(os.environ.get("WF_SCREENSHOT_DIR", "/tmp")) / "stack_update_policy.png"


@pytest.fixture
def page(qtbot: QtBot, workspace: Workspace) -> StacksPage:
    svc = workspace.services
    workspace.run(svc.auth.setup(username="alice", email="alice@example.test",
                                 password=PASSWORD, organization_name="Acme"))
    store = StacksStore(workspace.session, StackService(ServiceContext(svc.backend, svc.bus)))
    widget = StacksPage(store)
    qtbot.addWidget(widget)
    widget.resize(1180, 720)
    widget.show()
    workspace.run(workspace.session.login("alice", PASSWORD))
    return widget


def test_the_choice_stores_the_policy_and_who_chose_it(qtbot: QtBot, page: StacksPage,
                                                       workspace: Workspace) -> None:
    store = page.store
    assert not page.update_policy.isEnabled()  # no stack chosen yet
    principal = workspace.session.principal
    assert principal is not None
    stack, _ = workspace.run(store._service.create_stack(principal, name="web",
                                                          compose_yaml=GOOD))
    workspace.run(store.load())
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: store.selected is not None, timeout=WAIT_MS)
    assert page.update_policy.isEnabled()
    assert page.update_policy.policy is UpdatePolicy.NOTIFY  # the default

    auto = page.update_policy.findData(UpdatePolicy.AUTO.value)
    page.update_policy.setCurrentIndex(auto)
    page.update_policy.activated.emit(auto)  # as a pick by the user
    qtbot.waitUntil(lambda: store.selected is not None
                    and store.selected.update_policy is UpdatePolicy.AUTO, timeout=WAIT_MS)
    stored = workspace.run(store._service.get_stack(principal, stack.id))
    assert stored.update_policy is UpdatePolicy.AUTO
    assert stored.update_policy_by == principal.user_id
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.grab().save(str(SCREENSHOT))

    # Someone without stacks:write is refused, and the choice shows the stored policy.
    svc = workspace.services
    operator = workspace.run(_operator(workspace, principal))
    refused = StacksStore(workspace.session, StackService(ServiceContext(svc.backend,
                                                                         svc.bus)))
    with pytest.raises(Exception, match=r"permission|stacks:write"):
        workspace.run(refused._service.update_stack(operator, stack.id,
                                                    update_policy="ignore"))
    ignore = page.update_policy.findData(UpdatePolicy.IGNORE.value)
    page.update_policy.setCurrentIndex(ignore)
    page.update_policy.activated.emit(ignore)
    qtbot.waitUntil(lambda: store.selected is not None
                    and store.selected.update_policy is UpdatePolicy.IGNORE, timeout=WAIT_MS)
    assert page.update_policy.policy is UpdatePolicy.IGNORE


async def _operator(workspace: Workspace, owner: Principal) -> Principal:
    from tests.support.auth import add_member

    assert owner.organization_id is not None
    return await add_member(workspace.services.backend, owner.organization_id,
                            f"op{uuid.uuid4().hex[:6]}", Role.OPERATOR)


class FakeSweeps:
    """Rounds as a server would answer them (``check``: never asked with rounds)."""

    def __init__(self) -> None:
        self.answer = UpdateSweep()
        self.asked: list[str] = []

    async def sweep(self, principal: Principal) -> UpdateSweep:
        self.asked.append("sweep")
        await asyncio.sleep(0)
        return self.answer

    async def latest(self, principal: Principal) -> UpdateSweep:
        self.asked.append("latest")
        return self.answer

    async def check(self, principal: Principal, target_id: uuid.UUID
                    ) -> tuple[ImageUpdate, ...]:
        raise AssertionError("a store with rounds does not check target by target")


def test_the_store_tells_each_automatic_update_once(qtbot: QtBot, workspace: Workspace,
                                                    tmp_path: Path) -> None:
    ws = workspace
    targets, _pool, _keys = alices_targets(ws, tmp_path)
    ws.run(ws.session.login("alice", PASSWORD))
    sweeps = FakeSweeps()
    store = UpdatesStore(ws.session, sweeps, targets, sweeps=sweeps)  # type: ignore[arg-type]
    told: list[tuple[int, str, bool]] = []
    found: list[tuple[int, str]] = []
    store.sig_automatic.connect(lambda n, words, failed: told.append((n, words, failed)))
    store.sig_found.connect(lambda n, first: found.append((n, first)))
    target, stack, dep = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    line = ImageUpdate("127.0.0.1:5000/app:1", ("c1",), ("p",), (dep,),
                       UpdateState.AVAILABLE, ("127.0.0.1:5000/app@sha256:1",),
                       "sha256:2")
    failed = AutoUpdate(stack, "shop", target, "here", dep, AutoOutcome.FAILED,
                        ("127.0.0.1:5000/app:1",), uuid.uuid4(),
                        "service app is unhealthy; the old image runs again (sha256:1)")
    skipped = AutoUpdate(stack, "shop", uuid.uuid4(), "second", uuid.uuid4(),
                         AutoOutcome.NOT_STARTED, ("127.0.0.1:5000/app:1",), None,
                         "the rollout stopped after the update on here failed")
    sweeps.answer = UpdateSweep({target: (line,)}, {}, (failed, skipped))

    qtbot.waitUntil(store.check_now().done, timeout=WAIT_MS)
    assert sweeps.asked == ["sweep"]  # on demand: a round now
    assert store.available == [(target, line)]
    assert told == [(2, str(failed), True)]
    assert "the automatic update of shop on here failed" in told[0][1]
    assert "old image runs again" in told[0][1]
    assert found == [(1, line.image)]

    qtbot.waitUntil(store.check_now().done, timeout=WAIT_MS)
    assert told == [(2, str(failed), True)]  # the same round's news is not told twice

    ok = AutoUpdate(stack, "shop", target, "here", dep, AutoOutcome.UPDATED,
                    ("127.0.0.1:5000/app:1",), uuid.uuid4())
    sweeps.answer = UpdateSweep({target: ()}, {}, (ok,))
    ws.run(store._check(now=False))  # the schedule: the latest round (a server's)
    assert sweeps.asked[-1] == "latest"
    assert told[-1] == (1, str(ok), False) and "updated automatically" in told[-1][1]
    assert store.available == []

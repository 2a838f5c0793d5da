"""Signing out cancels the stores' actions in flight: a slow load started before sign-out
does not put the previous session's rows back afterwards. ``Store.cancel_all`` is
idempotent and leaves the store usable."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import set_up
from tests.support.qt import Runner, Workspace
from windflow_desktop.domain.models import Stack, Target
from windflow_desktop.domain.paging import Page
from windflow_desktop.stores.base import Store
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.stores.targets import TargetsStore


class GatedTargets:
    """A ``TargetService`` stand-in whose ``list_targets`` waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def list_targets(self, principal: Any, *_a: Any, **_k: Any) -> Page[Target]:
        self.started.set()
        await self.gate.wait()
        return Page((Target(organization_id=principal.organization_id, name="old org's",
                            id=uuid.uuid4()),))


def sign_in(workspace: Workspace) -> None:
    set_up(workspace)
    workspace.run(workspace.session.login("alice", PASSWORD))


def test_slow_target_load_does_not_land_after_sign_out(
    qtbot: QtBot, workspace: Workspace
) -> None:
    sign_in(workspace)
    service = GatedTargets()
    store = TargetsStore(service, workspace.session)  # type: ignore[arg-type]
    try:
        task = store.load()
        qtbot.waitUntil(service.started.is_set, timeout=5000)
        workspace.run(workspace.session.logout())
        assert not workspace.session.signed_in
        service.gate.set()
        qtbot.waitUntil(task.done, timeout=5000)
        assert task.cancelled()
        assert store.targets == () and not store.loaded and not store.busy
    finally:
        workspace.run(store.shutdown())


class GatedStacks:
    """A ``StackService`` stand-in whose ``list_stacks`` waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def list_stacks(self, principal: Any, *_a: Any, **_k: Any) -> Page[Stack]:
        self.started.set()
        await self.gate.wait()
        return Page((Stack(organization_id=principal.organization_id, name="old org's",
                            slug="old"),))


def test_slow_stack_load_does_not_land_after_sign_out(
    qtbot: QtBot, workspace: Workspace
) -> None:
    sign_in(workspace)
    service = GatedStacks()
    store = StacksStore(workspace.session, service)  # type: ignore[arg-type]
    try:
        task = store.load()
        qtbot.waitUntil(service.started.is_set, timeout=5000)
        workspace.run(workspace.session.logout())
        service.gate.set()
        qtbot.waitUntil(task.done, timeout=5000)
        assert store.rows == [] and not store.busy
    finally:
        workspace.run(store.shutdown())


def test_slow_member_load_does_not_land_after_sign_out(
    qtbot: QtBot, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(workspace)
    users = workspace.users
    qtbot.waitUntil(lambda: not users.busy, timeout=5000)
    assert users.members
    real_members = workspace.services.orgs.members
    gate, started = asyncio.Event(), asyncio.Event()

    async def gated(*a: Any, **k: Any) -> Any:
        started.set()
        await gate.wait()
        return await real_members(*a, **k)

    monkeypatch.setattr(workspace.services.orgs, "members", gated)
    task = users.load()
    qtbot.waitUntil(started.is_set, timeout=5000)
    workspace.run(workspace.session.logout())
    gate.set()
    qtbot.waitUntil(task.done, timeout=5000)
    assert users.members == () and not users.busy


def test_cancel_all_is_idempotent_and_keeps_the_store_usable(arun: Runner[Any]) -> None:
    store = Store()
    busy: list[bool] = []
    store.sig_busy_changed.connect(busy.append)

    async def forever() -> None:
        await asyncio.Event().wait()

    async def answer() -> int:
        return 42

    async def scenario() -> None:
        a, b = store.run("a", forever), store.run("b", forever)
        await asyncio.sleep(0)
        store.cancel_all()
        store.cancel_all()
        await asyncio.wait([a, b])
        assert a.cancelled() and b.cancelled() and not store.busy
        assert await store.run("c", answer) == 42
        await store.shutdown()

    arun(scenario())
    assert busy == [True, False, True, False]


class GatedDeployments:
    """A ``DeploymentService`` stand-in whose ``list_deployments`` waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.calls = 0

    async def list_deployments(self, principal: Any, *_a: Any, **_k: Any) -> Page[Any]:
        self.calls += 1
        self.started.set()
        await self.gate.wait()
        return Page(("old org's deployment",))

    async def current_deployments(self, principal: Any) -> list[Any]:
        return []


def test_slow_deployment_load_does_not_land_after_sign_out_and_tokens_do_not_reload(
    qtbot: QtBot, workspace: Workspace
) -> None:
    from windflow_desktop.stores.deployments import DeploymentsStore

    async def no_targets(_principal: Any) -> list[Any]:
        return []

    sign_in(workspace)
    service = GatedDeployments()
    store = DeploymentsStore(workspace.session, service, no_targets)  # type: ignore[arg-type]
    try:
        service.gate.set()
        workspace.run(store.load())
        calls = service.calls
        workspace.session.sig_session_changed.emit()  # a token rotation: same user and org
        assert service.calls == calls and store.rows  # no reload, rows kept

        service.gate.clear()
        task = store.load()
        qtbot.waitUntil(lambda: service.calls == calls + 1, timeout=5000)
        workspace.run(workspace.session.logout())
        service.gate.set()
        qtbot.waitUntil(task.done, timeout=5000)
        assert task.cancelled()
        assert store.rows == []
    finally:
        workspace.run(store.shutdown())

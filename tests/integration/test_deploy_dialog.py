"""The deploy dialog and the store's deploy action: a second click never cancels (or
doubles) a deploy on its way, and a closed dialog is deleted and no longer hears the
store. A fake service stands in for the deployment service (no database needed)."""

from __future__ import annotations

import asyncio
import gc
import uuid
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import Runner, arun, qloop  # noqa: F401 - fixtures
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetAuth, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import (
    Deployment,
    DeployPreview,
    Stack,
    StackRevision,
    Target,
)
from windflow_desktop.services.deployments import Rollout
from windflow_desktop.stores.deployments import DeploymentsStore
from windflow_desktop.ui.dialogs.deploy_stack import DeployDialog

ORG = uuid.uuid4()


class FakeSession(QObject):
    sig_session_changed = Signal()
    principal: Any = Principal(uuid.uuid4(), uuid.uuid4(), Role.OPERATOR, False)

    def require_principal(self) -> Any:
        return self.principal


class GatedService:
    """``deploy`` waits until released; counts calls and cancellations."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0
        self.cancelled = 0

    async def deploy(self, principal: Any, stack_id: uuid.UUID, target_ids: Any,
                     **kwargs: Any) -> Rollout:
        self.calls += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return Rollout([Deployment(organization_id=ORG, stack_id=stack_id,
                                   revision_id=uuid.uuid4(), target_id=target_ids[0],
                                   project_name="p", status=DeploymentStatus.PENDING)])

    async def list_deployments(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")


def _spin(app: QApplication, done: Any, timeout_s: float = 5.0) -> None:
    import time
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        app.processEvents()
        time.sleep(0.001)


def _store(service: GatedService) -> DeploymentsStore:
    async def targets(p: object) -> list[Target]:
        return [Target(organization_id=ORG, name="here", kind=TargetKind.LOCAL, host="",
                       auth=TargetAuth.NONE)]

    return DeploymentsStore(FakeSession(), service, targets)  # type: ignore[arg-type]


def test_second_deploy_does_not_cancel_the_first(
        qapp: QApplication, arun: Runner[Any]) -> None:  # noqa: F811
    service = GatedService()
    store = _store(service)
    try:
        first = store.deploy(uuid.uuid4(), [uuid.uuid4()])
        second = store.deploy(uuid.uuid4(), [uuid.uuid4()])
        _spin(qapp, lambda: service.calls == 2)
        service.release.set()
        assert arun(first) and arun(second)
        assert service.cancelled == 0
    finally:
        arun(store.shutdown())


def test_dialog_guards_double_click_and_is_deleted_when_closed(
        qapp: QApplication, arun: Runner[Any]) -> None:  # noqa: F811
    service = GatedService()
    store = _store(service)
    try:
        store.load_targets()
        _spin(qapp, lambda: bool(store.targets))
        stack = Stack(organization_id=ORG, name="Shop", slug="shop")
        revision = StackRevision(stack_id=stack.id, number=1, compose_yaml="services: {}\n",
                                 variables=[])
        dialog = DeployDialog(store, stack, revision)
        assert dialog.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.targets.item(0).setCheckState(Qt.CheckState.Checked)
        dialog.show()
        dialog.deploy_button.click()
        _spin(qapp, lambda: service.calls == 1)
        assert not dialog.deploy_button.isEnabled()
        dialog.deploy()  # a second click (or Enter) while the first is on its way
        qapp.processEvents()
        assert service.calls == 1
        service.release.set()
        _spin(qapp, lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())
        qapp.sendPostedEvents(None, 0)  # the deferred delete of the closed dialog
        gc.collect()
        assert not shiboken6.isValid(dialog)
        assert service.cancelled == 0
        # the store's signals no longer reach the (deleted) dialog
        store.sig_preview_ready.emit(DeployPreview("t", (), "preview with a secret"))
        store.sig_error.emit("X", "error after close")
        store.sig_targets_changed.emit()
        assert store.receivers("2sig_error(QString,QString)") == 0
        assert store.receivers("2sig_preview_ready(PyObject)") == 0
        assert store.receivers("2sig_targets_changed()") == 0
    finally:
        arun(store.shutdown())

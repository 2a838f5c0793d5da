"""The deploy dialog and the store's deploy action: a second click never cancels (or
doubles) a deploy on its way, a closed dialog is deleted and no longer hears the store,
the per-target overrides table follows the checked targets and its cells reach the deploy
and the preview, and the preview shows its preflight checks as a list under a summary.
A fake service stands in for the deployment service (no database needed)."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QPlainTextEdit
from pytestqt.qtbot import QtBot

from tests.support.a11y import ACTIONABLE, actionable_widgets
from tests.support.deploy_dialog_widgets import type_into
from tests.support.qt import Runner, _spin_until, arun, qloop  # noqa: F401 - fixtures
from windflow_desktop.domain.deployment_flow import Rollout
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetAuth, TargetKind
from windflow_desktop.domain.errors import TargetUnreachableError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import (
    Deployment,
    DeployPreview,
    PreflightCheck,
    PreviousValues,
    Stack,
    StackRevision,
    Target,
)
from windflow_desktop.stores.deployments import DeploymentsStore
from windflow_desktop.ui.dialogs.deploy_stack import CHECK_ROLE, DeployDialog

ORG = uuid.uuid4()


class FakeSession(QObject):
    sig_session_changed = Signal()
    principal: Any = Principal(uuid.uuid4(), uuid.uuid4(), Role.OPERATOR, False)

    def require_principal(self) -> Any:
        return self.principal


class GatedService:
    """``deploy`` waits until released; counts calls and cancellations and keeps the
    last call's keyword arguments. ``preview`` returns (or raises) ``preview_result``."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0
        self.cancelled = 0
        self.kwargs: dict[str, Any] = {}
        self.preview_result: DeployPreview | Exception = DeployPreview("?", (), "")
        self.preview_values: Any = None

    async def deploy(self, principal: Any, stack_id: uuid.UUID, target_ids: Any,
                     **kwargs: Any) -> Rollout:
        self.calls += 1
        self.kwargs = kwargs
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return Rollout([Deployment(organization_id=ORG, stack_id=stack_id,
                                   revision_id=uuid.uuid4(), target_id=target_ids[0],
                                   project_name="p", status=DeploymentStatus.PENDING)])

    async def preview(self, principal: Any, stack_id: uuid.UUID, target_id: uuid.UUID,
                      values: Any, revision: int | None) -> DeployPreview:
        self.preview_values = values
        if isinstance(self.preview_result, Exception):
            raise self.preview_result
        return self.preview_result

    async def list_deployments(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    async def current_deployments(self, principal: Any) -> list[Deployment]:
        return []

    async def previous_values(self, principal: Any, stack_id: uuid.UUID,
                              target_id: uuid.UUID) -> PreviousValues:
        return PreviousValues()


def _store(service: GatedService, names: tuple[str, ...] = ("here",)) -> DeploymentsStore:
    async def targets(p: object) -> list[Target]:
        return [Target(organization_id=ORG, name=name, kind=TargetKind.LOCAL, host="",
                       auth=TargetAuth.NONE) for name in names]

    return DeploymentsStore(FakeSession(), service, targets)  # type: ignore[arg-type]


VARIABLES = [{"name": "GREETING", "description": "What the page says", "default": "hello"},
             {"name": "DB_PASSWORD", "secret": True}]


OpenDialog = Callable[..., tuple[DeployDialog, DeploymentsStore]]


@pytest.fixture
def open_dialog(qapp: QApplication, arun: Runner[Any]) -> Iterator[OpenDialog]:  # noqa: F811
    """``open_dialog(service, names, *checked)``: a dialog over a store whose targets are
    ``names`` (loaded first), with the rows ``checked`` ticked; closed after the test."""
    opened: list[tuple[DeployDialog, DeploymentsStore]] = []

    def open_(service: GatedService, names: tuple[str, ...],
              *checked: int) -> tuple[DeployDialog, DeploymentsStore]:
        store = _store(service, names)
        store.load_targets()
        _spin_until(qapp, lambda: bool(store.targets))
        stack = Stack(organization_id=ORG, name="Shop", slug="shop")
        revision = StackRevision(stack_id=stack.id, number=1, compose_yaml="services: {}\n",
                                 variables=VARIABLES)
        dialog = DeployDialog(store, stack, revision)
        opened.append((dialog, store))
        for row in checked:
            dialog.targets.item(row).setCheckState(Qt.CheckState.Checked)
        dialog.show()
        return dialog, store

    yield open_
    for dialog, store in opened:
        if shiboken6.isValid(dialog):
            dialog.close()
        arun(store.shutdown())


def test_second_deploy_does_not_cancel_the_first(
        qapp: QApplication, arun: Runner[Any]) -> None:  # noqa: F811
    service = GatedService()
    store = _store(service)
    try:
        first = store.deploy(uuid.uuid4(), [uuid.uuid4()])
        second = store.deploy(uuid.uuid4(), [uuid.uuid4()])
        _spin_until(qapp, lambda: service.calls == 2)
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
        _spin_until(qapp, lambda: bool(store.targets))
        stack = Stack(organization_id=ORG, name="Shop", slug="shop")
        revision = StackRevision(stack_id=stack.id, number=1, compose_yaml="services: {}\n",
                                 variables=[])
        dialog = DeployDialog(store, stack, revision)
        assert dialog.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.targets.item(0).setCheckState(Qt.CheckState.Checked)
        dialog.show()
        dialog.deploy_button.click()
        _spin_until(qapp, lambda: service.calls == 1)
        assert not dialog.deploy_button.isEnabled()
        dialog.deploy()  # a second click (or Enter) while the first is on its way
        qapp.processEvents()
        assert service.calls == 1
        service.release.set()
        _spin_until(qapp, lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())
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


def test_an_override_typed_for_one_target_reaches_its_deploy_only(
        qapp: QApplication, qtbot: QtBot, open_dialog: OpenDialog) -> None:
    service = GatedService()
    service.release.set()
    dialog, store = open_dialog(service, ("alpha", "beta", "gamma"), 0, 1)
    table = dialog.overrides.table
    assert table.rowCount() == 2
    assert [table.verticalHeaderItem(r).text() for r in range(2)] == ["alpha", "beta"]
    type_into(qtbot, table, 1, 0, "Bonjour")
    dialog.fields["GREETING"].setText("Hello")
    dialog.deploy_button.click()
    _spin_until(qapp, lambda: service.calls == 1)
    beta = store.targets[1]
    assert service.kwargs["overrides"] == {beta.id: {"GREETING": "Bonjour"}}
    assert service.kwargs["variables"]["GREETING"] == "Hello"


def test_unchecking_a_target_drops_its_row_and_its_override(
        qapp: QApplication, qtbot: QtBot, open_dialog: OpenDialog) -> None:
    service = GatedService()
    service.release.set()
    dialog, store = open_dialog(service, ("alpha", "beta", "gamma"), 0, 1)
    table = dialog.overrides.table
    type_into(qtbot, table, 0, 1, "alpha-pw")
    type_into(qtbot, table, 1, 0, "Bonjour")
    dialog.targets.item(2).setCheckState(Qt.CheckState.Checked)  # gamma: a third row
    assert table.rowCount() == 3 and table.item(1, 0).text() == "Bonjour"
    dialog.targets.item(1).setCheckState(Qt.CheckState.Unchecked)  # beta goes
    assert [table.verticalHeaderItem(r).text() for r in range(2)] == ["alpha", "gamma"]
    store.sig_targets_changed.emit()  # the list is rebuilt: alpha keeps its secret
    alpha = store.targets[0]
    assert dialog.parsed_overrides() == {alpha.id: {"DB_PASSWORD": "alpha-pw"}}
    assert "alpha-pw" not in str(table.model().index(0, 1).data())
    dialog.deploy_button.click()
    _spin_until(qapp, lambda: service.calls == 1)
    assert service.kwargs["overrides"] == {alpha.id: {"DB_PASSWORD": "alpha-pw"}}


def test_preflight_checks_are_a_list_under_a_summary(
        qapp: QApplication, qtbot: QtBot, open_dialog: OpenDialog) -> None:
    service = GatedService()
    dialog, store = open_dialog(service, ("alpha", "beta"), 0, 1)
    type_into(qtbot, dialog.overrides.table, 0, 0, "Hola")  # alpha is the one previewed
    service.preview_result = TargetUnreachableError("alpha does not answer")
    dialog.preview_button.click()
    _spin_until(qapp, lambda: dialog.preflight.text().startswith("No preview"))
    assert dialog.checks.count() == 0

    config = "services:\n  web:\n    image: nginx:1.27\n"
    service.preview_result = DeployPreview("alpha", (
        PreflightCheck("compose", True, "Compose v2 2.29.1"),
        PreflightCheck("port", False, "port 8080/tcp in use"),
        PreflightCheck("disk", True, "5000 MB disk free"),
    ), config)
    dialog.preview_button.click()
    assert dialog.preflight.text().startswith("Running")
    _spin_until(qapp, lambda: dialog.checks.count() == 3)
    assert service.preview_values["GREETING"] == "Hola"
    rows = [dialog.checks.item(i) for i in range(3)]
    assert [r.data(CHECK_ROLE).ok for r in rows] == [True, False, True]
    failed = rows[1]
    assert failed.text() == "Failed: port 8080/tcp in use"
    assert "failed" in failed.data(Qt.ItemDataRole.AccessibleTextRole)
    assert "passed" in rows[0].data(Qt.ItemDataRole.AccessibleTextRole)
    assert failed.icon().pixmap(16).toImage() != rows[0].icon().pixmap(16).toImage()
    assert rows[0].icon().pixmap(16).toImage() == rows[2].icon().pixmap(16).toImage()
    assert dialog.preflight.text() == "Preflight on alpha: 1 of 3 checks failed"
    assert dialog.preview_text.toPlainText() == config
    assert dialog.deploy_button.isEnabled()  # the pipeline refuses, with its own error

    store.sig_preview_ready.emit(DeployPreview(
        "beta", (PreflightCheck("compose", True, "Compose v2 2.29.1"),), ""))
    assert dialog.checks.count() == 1
    assert dialog.preflight.text() == "Preflight on beta: all checks passed"
    assert dialog.preview_text.toPlainText() == ""


def test_every_actionable_widget_of_the_dialog_has_an_accessible_name(
        open_dialog: OpenDialog) -> None:
    dialog, _ = open_dialog(GatedService(), ("alpha", "beta"), 0)
    widgets = actionable_widgets(dialog, (*ACTIONABLE, QAbstractSpinBox, QPlainTextEdit))
    assert dialog.overrides.table in widgets and dialog.checks in widgets
    unnamed = [w for w in widgets if not w.accessibleName()]
    assert not unnamed, unnamed

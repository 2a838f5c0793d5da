"""The deploy dialog refuses a variable the Compose file requires (``${API_TOKEN:?…}``)
left empty and says which, before the store is asked to deploy; and it shows the host
access a revision needs as warnings under the preflight checks. A counting service stands
in for the deployment service: the refusal is the dialog's own."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication

from tests.support.qt import Runner, _spin_until, arun, qloop  # noqa: F401 - fixtures
from windflow_desktop.domain.deployment_flow import Rollout
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetAuth, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import (
    Deployment,
    DeployPreview,
    PreflightCheck,
    Stack,
    StackRevision,
    Target,
)
from windflow_desktop.stores.deployments import DeploymentsStore
from windflow_desktop.ui.dialogs.deploy_stack import DeployDialog
from windflow_desktop.ui.widgets.message_bar import Level

ORG = uuid.uuid4()
COMPOSE = """\
services:
  api:
    image: localhost/busybox
    environment:
      API_TOKEN: "${API_TOKEN:?set the API token}"
      MODE: "${MODE:?pick a mode}"
"""
VARIABLES = [{"name": "API_TOKEN", "secret": True}, {"name": "MODE", "default": "fast"}]


class _Session(QObject):
    sig_session_changed = Signal()
    principal: Any = Principal(uuid.uuid4(), ORG, Role.OPERATOR, False)

    def require_principal(self) -> Any:
        return self.principal


class _CountingService:
    def __init__(self) -> None:
        self.deploys: list[dict[str, Any]] = []

    async def deploy(self, principal: Any, stack_id: uuid.UUID, target_ids: Any,
                     **kwargs: Any) -> Rollout:
        self.deploys.append(kwargs)
        return Rollout([Deployment(organization_id=ORG, stack_id=stack_id,
                                   revision_id=uuid.uuid4(), target_id=target_ids[0],
                                   project_name="p", status=DeploymentStatus.PENDING)])


def _dialog(app: QApplication, service: _CountingService) -> tuple[DeployDialog,
                                                                   DeploymentsStore]:
    async def targets(p: object) -> list[Target]:
        return [Target(organization_id=ORG, name="here", kind=TargetKind.LOCAL, host="",
                       auth=TargetAuth.NONE)]

    store = DeploymentsStore(_Session(), service, targets)  # type: ignore[arg-type]
    store.load_targets()
    _spin_until(app, lambda: bool(store.targets))
    stack = Stack(organization_id=ORG, name="Api", slug="api")
    dialog = DeployDialog(store, stack, StackRevision(stack_id=stack.id, number=1,
                                                      compose_yaml=COMPOSE,
                                                      variables=VARIABLES))
    dialog.targets.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.show()
    return dialog, store


def test_a_variable_the_file_requires_is_refused_empty_naming_it(
        qapp: QApplication, arun: Runner[Any]) -> None:  # noqa: F811
    service = _CountingService()
    dialog, store = _dialog(qapp, service)
    try:
        assert dialog.required == {"API_TOKEN": "set the API token"}  # MODE has a default
        dialog.deploy_button.click()
        qapp.processEvents()
        assert dialog.message.shown and dialog.message.level is Level.ERROR
        assert "API_TOKEN" in dialog.message.text()
        assert "set the API token" in dialog.message.text()
        assert "MODE" not in dialog.message.text()
        assert service.deploys == [] and dialog.isVisible()
        assert dialog.deploy_button.isEnabled()

        dialog.fields["API_TOKEN"].setText("s3cret")
        dialog.deploy_button.click()
        _spin_until(qapp, lambda: bool(service.deploys))
        assert service.deploys[0]["variables"]["API_TOKEN"] == "s3cret"
    finally:
        dialog.close()
        arun(store.shutdown())


def test_the_preview_lists_host_access_as_warnings(
        qapp: QApplication, arun: Runner[Any]) -> None:  # noqa: F811
    dialog, store = _dialog(qapp, _CountingService())
    try:
        store.sig_preview_ready.emit(DeployPreview(
            "here", (PreflightCheck("compose", True, "Compose v2"),), "",
            ("api: privileged", "api: host path /etc")))
        texts = [dialog.checks.item(i).text() for i in range(dialog.checks.count())]
        assert texts == ["Compose v2", "Needs host access: api: privileged",
                         "Needs host access: api: host path /etc"]
        assert dialog.preflight.text() == ("Preflight on here: all checks passed; needs "
                                           "host access (2)")
    finally:
        dialog.close()
        arun(store.shutdown())

"""The Targets and Containers pages over the real services, dockerd and sshd: targets
added (store and wizard), tested, scanned, filtered; the host-key question answered in
the UI; the window stays responsive while an unreachable host is tested; containers
grouped by compose project, acted on, and their logs followed live in batches."""

from __future__ import annotations

import itertools
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget, QWizard
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.sshd import SshServer
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.enums import TargetAuth, TargetKind, TargetStatus
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.host_keys import HostKeyQuestions
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.dialogs.target_hostkey import HostKeyAnswers
from windflow_desktop.ui.views.containers import CONTAINER_ROLE, ContainersPage
from windflow_desktop.ui.views.targets import TargetsPage

WAIT_MS = 30_000


@dataclass
class Ops:
    ws: Workspace
    pool: ExecutorPool
    targets: TargetsStore
    containers: ContainersStore
    docker: DockerEngine
    sshd: SshServer
    host_keys: HostKeyQuestions

    def ssh_spec(self, name: str = "web-1", **kw: Any) -> TargetSpec:
        values: dict[str, Any] = {"name": name, "kind": TargetKind.SSH, "host": "127.0.0.1",
                                  "port": self.sshd.port, "username": self.sshd.user,
                                  "auth": TargetAuth.KEY, "key_file": str(self.sshd.client_key)}
        values.update(kw)
        return TargetSpec(**values)


@pytest.fixture
def ops(workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine,
        sshd_server: SshServer) -> Iterator[Ops]:
    targets, pool, host_keys = alices_targets(workspace, tmp_path)
    svc = workspace.services
    containers = ContainersStore(
        ContainerService(ServiceContext(svc.backend, svc.bus, clock=svc.clock), pool,
                         svc.secrets), workspace.session)
    try:
        yield Ops(workspace, pool, targets, containers, docker_engine, sshd_server, host_keys)
    finally:
        workspace.run(containers.shutdown())
        workspace.run(targets.shutdown())
        workspace.run(pool.close())


def open_page(qtbot: QtBot, ops: Ops) -> TargetsPage:
    page = TargetsPage(ops.targets)
    HostKeyAnswers(ops.host_keys, page)  # the shell does this over the main window
    qtbot.addWidget(page)
    page.resize(1200, 600)
    page.show()
    return page


def host_key_boxes(window: QWidget) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox)
            if box.accessibleName() == "Host key confirmation" and box.isVisible()]


def answer_host_key(qtbot: QtBot, page: TargetsPage, accept: bool = True) -> None:
    qtbot.waitUntil(lambda: bool(host_key_boxes(page)), timeout=WAIT_MS)
    box = host_key_boxes(page)[-1]
    assert "SHA256:" in box.informativeText()
    button = QMessageBox.StandardButton.Yes if accept else QMessageBox.StandardButton.No
    box.button(button).click()


def test_targets_added_scanned_filtered_with_host_key_question(
    qtbot: QtBot, ops: Ops
) -> None:
    page = open_page(qtbot, ops)
    ModelTester(qtbot).check(page.model, force_py=True)
    local = ops.ws.run(ops.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                                   docker_socket=ops.docker.host)))
    ssh = ops.ws.run(ops.targets.save(ops.ssh_spec()))
    assert page.model.rowCount() == 2
    page.select(local.id)
    ops.ws.run(ops.targets.scan(local.id))
    version = ops.docker.server_version()
    row = page.model.position(local.id)
    assert page.model.index(row, 4).data() == version
    assert page.model.index(row, 3).data() == "online"
    labels = [page.capabilities.topLevelItem(i).text(0)
              for i in range(page.capabilities.topLevelItemCount())]
    assert "Docker engine" in labels and "Compose v1" in labels

    task = ops.targets.scan(ssh.id)  # the first connection asks about the host key
    answer_host_key(qtbot, page)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert ops.targets.target(ssh.id).status is TargetStatus.ONLINE  # type: ignore[union-attr]
    assert (Path(ops.pool.known_hosts.path)).exists()

    page.filter.setText("web")
    assert page.proxy.rowCount() == 1
    page.filter.setText("")
    assert page.proxy.rowCount() == 2


def test_wizard_adds_an_ssh_target_step_by_step(qtbot: QtBot, ops: Ops) -> None:
    page = open_page(qtbot, ops)
    wizard = page.open_wizard(None)
    qtbot.waitUntil(wizard.isVisible)
    wizard.kind_page.buttons[TargetKind.SSH].setChecked(True)
    wizard.next()
    form = wizard.connection_page
    spec = ops.ssh_spec("db-1")
    form.name.setText(spec.name)
    form.host.setText(spec.host)
    form.port.setValue(spec.port or 0)
    form.username.setText(spec.username)
    form.auth.setCurrentIndex(form.auth.findData(TargetAuth.KEY))
    form.key_file.setText(spec.key_file)
    assert form.key_file.isVisible() and not form.ca_file.isVisible()
    wizard.next()  # the test starts
    answer_host_key(qtbot, page)
    qtbot.waitUntil(lambda: wizard.test_page.isComplete(), timeout=WAIT_MS)
    assert wizard.test_page.steps.states() == ["ok", "ok", "ok", "ok"]
    assert "Connected" in wizard.test_page.summary.text()
    wizard.next()  # save and scan
    qtbot.waitUntil(lambda: wizard.scan_page.isComplete(), timeout=WAIT_MS)
    kinds = [wizard.scan_page.capabilities.topLevelItem(i).text(0)
             for i in range(wizard.scan_page.capabilities.topLevelItemCount())]
    assert "Docker engine" in kinds and "Compose v2" in kinds
    saved = [t for t in ops.targets.targets if t.name == "db-1"]
    assert saved and saved[0].status is TargetStatus.ONLINE
    assert page.model.position(saved[0].id) is not None
    wizard.button(QWizard.WizardButton.FinishButton).click()


def test_window_stays_responsive_while_an_unreachable_host_is_tested(
    qtbot: QtBot, ops: Ops
) -> None:
    page = open_page(qtbot, ops)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        target = ops.ws.run(ops.targets.save(ops.ssh_spec(
            "silent", port=silent.getsockname()[1])))
        page.select(target.id)
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start()
        started = time.monotonic()
        page.test_button.click()
        assert page.cancel_button.isVisible()
        qtbot.waitUntil(lambda: not ops.targets.is_running("test"), timeout=WAIT_MS)
        elapsed = time.monotonic() - started
        timer.stop()
    finally:
        silent.close()
    assert elapsed < 2.0 + 8  # the 2 s timeout holds (unbounded, it would be TCP's minutes)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 1.0  # never blocked for the 2 s wait
    assert "did not answer within 2 s" in page.test_summary.text()
    row = page.model.position(target.id)
    assert page.model.index(row, 3).data() == "offline"
    assert page.steps.states() == ["ok", "ok", "failed", "skipped"]


def test_containers_page_groups_acts_and_follows_logs(qtbot: QtBot, ops: Ops) -> None:
    target = ops.ws.run(ops.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                                    docker_socket=ops.docker.host)))
    project = f"shop{uuid.uuid4().hex[:4]}"
    ids = []
    for service in ("web", "worker"):
        ids.append(ops.docker.cli(
            "run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
            "--label", f"com.docker.compose.project={project}",
            "--label", f"com.docker.compose.service={service}", BUSYBOX_IMAGE, "sh", "-c",
            f"i=0; while true; do i=$((i+1)); echo {service} line $i; sleep 0.05; done",
        ).strip())
    try:
        page = ContainersPage(ops.containers, ops.targets)
        qtbot.addWidget(page)
        page.resize(1100, 650)
        page.show()
        page.select_target(target.id)
        qtbot.waitUntil(lambda: any(c.id in ids for c in ops.containers.containers),
                        timeout=WAIT_MS)
        heads = [page.model.item(r, 0).text() for r in range(page.model.rowCount())]
        head_row = next(i for i, h in enumerate(heads) if h.startswith(project))
        assert "(2/2 running)" in heads[head_row]
        group = page.model.item(head_row, 0)
        web = next(group.child(i, 0) for i in range(group.rowCount())
                   if group.child(i, 0).data(CONTAINER_ROLE).service == "web")
        page.tree.setCurrentIndex(page.proxy.mapFromSource(page.model.indexFromItem(web)))
        assert page.buttons["stop"].isEnabled() and not page.buttons["start"].isEnabled()

        page.logs_button.click()
        qtbot.waitUntil(lambda: page.log_view.lines_appended >= 20, timeout=WAIT_MS)
        assert page.log_view.batches < page.log_view.lines_appended  # batched
        assert "web line" in page.log_view.plain_text()
        assert page.log_view.state.text() == "following live"
        page.stop_logs_button.click()
        qtbot.waitUntil(lambda: page.log_view.state.text() == "stopped", timeout=WAIT_MS)

        page.buttons["stop"].click()
        qtbot.waitUntil(lambda: any(c.id == ids[0] and not c.running
                                    for c in ops.containers.containers), timeout=WAIT_MS)
        assert "(1/2 running)" in page.model.item(head_row, 0).text()
    finally:
        ops.docker.cli("rm", "-f", *ids, check=False)


def test_log_view_batches_and_bounds(qtbot: QtBot) -> None:
    from windflow_desktop.ui.widgets.log_view import LogView

    view = LogView("Logs", max_lines=100, flush_ms=10)
    qtbot.addWidget(view)
    view.show()
    view.append_lines([f"line {i}" for i in range(250)])
    assert view.text.blockCount() == 100 and view.batches == 1
    for i in range(5):
        view.queue_line(f"queued {i}")
    qtbot.waitUntil(lambda: "queued 4" in view.plain_text(), timeout=2000)
    assert view.batches == 2
    bar = view.text.verticalScrollBar()
    assert bar.value() == bar.maximum()  # following
    bar.setValue(0)
    assert not view.follow.isChecked()
    view.append_lines(["more"])
    assert bar.value() == 0  # not yanked to the end while the user reads




def test_forget_host_key_from_the_context_menu(qtbot: QtBot, ops: Ops) -> None:
    page = open_page(qtbot, ops)
    ssh = ops.ws.run(ops.targets.save(ops.ssh_spec("web-9")))
    task = ops.targets.test(ssh.id)  # first connection: accept its key
    answer_host_key(qtbot, page)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    known = Path(ops.pool.known_hosts.path)
    assert f"[127.0.0.1]:{ops.sshd.port}" in known.read_text()

    page.select(ssh.id)
    menu = page.build_context_menu()
    actions = {a.text(): a for a in menu.actions()}
    assert "Forget host key…" in actions
    actions["Forget host key…"].trigger()
    box = page._boxes[-1]
    assert "Forget the trusted host key of web-9?" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert f"[127.0.0.1]:{ops.sshd.port}" in known.read_text()  # Cancel keeps it

    page.build_context_menu()  # a fresh menu, as the user would open it again
    page._forget_host_key()
    box = page._boxes[-1]
    forget = next(b for b in box.buttons() if b.text() == "Forget")
    forget.click()
    qtbot.waitUntil(lambda: f"[127.0.0.1]:{ops.sshd.port}" not in known.read_text(),
                    timeout=WAIT_MS)
    task = ops.targets.test(ssh.id)  # the next connection asks again
    answer_host_key(qtbot, page)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)

    local = ops.ws.run(ops.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                                   docker_socket=ops.docker.host)))
    page.select(local.id)
    assert "Forget host key…" not in {a.text() for a in page.build_context_menu().actions()}


def test_test_button_works_after_the_wizard_is_gone(qtbot: QtBot, ops: Ops) -> None:
    """Add a target with the wizard, finish it, then press Test on the page: the page
    shows the steps and the result (the wizard's handlers went with the wizard)."""
    page = open_page(qtbot, ops)
    page.add_button.click()
    qtbot.waitUntil(lambda: page._wizard is not None and page._wizard.isVisible())
    wizard = page._wizard
    assert wizard is not None
    wizard.kind_page.buttons[TargetKind.LOCAL].setChecked(True)
    wizard.button(QWizard.WizardButton.NextButton).click()
    wizard.connection_page.name.setText("this computer")
    wizard.connection_page.socket.setText(ops.docker.host)
    wizard.button(QWizard.WizardButton.NextButton).click()
    qtbot.waitUntil(wizard.test_page.isComplete, timeout=WAIT_MS)
    wizard.button(QWizard.WizardButton.NextButton).click()
    qtbot.waitUntil(wizard.scan_page.isComplete, timeout=WAIT_MS)
    gone: list[bool] = []
    wizard.destroyed.connect(lambda: gone.append(True))
    wizard.button(QWizard.WizardButton.FinishButton).click()

    def deleted() -> bool:  # what the app's event loop does once back at its top level
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return bool(gone)

    qtbot.waitUntil(deleted, timeout=WAIT_MS)
    [saved] = [t for t in ops.targets.targets if t.name == "this computer"]
    page.select(saved.id)
    page.test_button.click()
    qtbot.waitUntil(lambda: not ops.targets.is_running("test"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.test_summary.text().startswith("Connected"),
                    timeout=WAIT_MS)
    assert page.steps.states() and set(page.steps.states()) <= {"ok", "skipped"}
    assert page.messages.isHidden(), page.messages.text()

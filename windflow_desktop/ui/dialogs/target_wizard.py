"""The add/edit target wizard: kind → connection → test → save & scan.

Everything goes through ``TargetsStore``: the test page runs ``test_draft`` and shows
each step as it completes (time, result, what to fix); the last page saves the target
and scans it, then shows its capabilities. Long steps can be cancelled; the wizard is
opened with ``open()`` (never ``exec()``), so the app keeps running.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from PySide6.QtCore import QDir, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ...domain.enums import TargetAuth, TargetKind
from ...domain.models import Target
from ...stores.targets import ConnectionReport, StepResult, TargetSpec, TargetsStore
from ..widgets.target_text import capability_row

KIND_TEXT = {
    TargetKind.LOCAL: ("This computer", "The Docker or Podman engine on this machine "
                       "(DOCKER_HOST, the Docker socket or a Podman socket)."),
    TargetKind.SSH: ("A host over SSH", "A Linux machine you can sign in to with SSH; "
                     "WindFlow uses its Docker engine through the SSH connection."),
    TargetKind.DOCKER_TCP: ("A Docker engine over TCP", "A Docker API endpoint protected "
                            "with TLS client certificates (plain TCP only if you choose so)."),
}
STATE_MARK = {"ok": "✔", "failed": "✖", "skipped": "-"}


class KindPage(QWizardPage):
    def __init__(self, wizard: TargetWizard) -> None:
        super().__init__()
        self.setTitle("What kind of target?")
        self.group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        self.buttons: dict[TargetKind, QRadioButton] = {}
        for kind, (title, blurb) in KIND_TEXT.items():
            button = QRadioButton(title)
            button.setAccessibleName(title)
            self.group.addButton(button)
            self.buttons[kind] = button
            text = QLabel(blurb)
            text.setWordWrap(True)
            text.setContentsMargins(24, 0, 0, 8)
            layout.addWidget(button)
            layout.addWidget(text)
        layout.addStretch(1)
        self.buttons[wizard.initial.kind].setChecked(True)

    def kind(self) -> TargetKind:
        return next(k for k, b in self.buttons.items() if b.isChecked())


class ConnectionPage(QWizardPage):
    def __init__(self, wizard: TargetWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Connection")
        spec = wizard.initial
        self.name = QLineEdit(spec.name)
        self.name.setAccessibleName("Name")
        self.host = QLineEdit(spec.host)
        self.host.setAccessibleName("Host")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("default")
        self.port.setValue(spec.port or 0)
        self.port.setAccessibleName("Port")
        self.username = QLineEdit(spec.username)
        self.username.setAccessibleName("User")
        self.auth = QComboBox()
        self.auth.setAccessibleName("Sign-in")
        for auth, text in ((TargetAuth.AGENT, "ssh-agent / ~/.ssh/config"),
                           (TargetAuth.KEY, "Key file"), (TargetAuth.PASSWORD, "Password")):
            self.auth.addItem(text, auth.value)  # Qt keeps a StrEnum as a plain str
        index = self.auth.findData(spec.auth.value)
        self.auth.setCurrentIndex(max(index, 0))
        self.key_file = QLineEdit(spec.key_file)
        self.key_file.setAccessibleName("Key file")
        self.key_file.setPlaceholderText("~/.ssh/id_ed25519")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("Password or passphrase")
        if wizard.target_id is not None:
            self.secret.setPlaceholderText("unchanged (stored in the keyring)")
        self.socket = QLineEdit(spec.docker_socket)
        self.socket.setAccessibleName("Docker socket")
        self.socket.setPlaceholderText("detected")
        self.ca_file = QLineEdit(spec.ca_file)
        self.ca_file.setAccessibleName("CA certificate")
        self.cert_file = QLineEdit(spec.cert_file)
        self.cert_file.setAccessibleName("Client certificate")
        self.client_key = QLineEdit(spec.client_key_file)
        self.client_key.setAccessibleName("Client key")
        self.browse_dialog: QFileDialog | None = None
        self.browse_rows = {edit: self._with_browse(edit, title) for edit, title in (
            (self.key_file, "Choose the SSH private key"),
            (self.ca_file, "Choose the CA certificate"),
            (self.cert_file, "Choose the client certificate"),
            (self.client_key, "Choose the client key"))}
        self.insecure = QCheckBox("Plain TCP without TLS (insecure: anyone on the network "
                                  "can control this engine)")
        self.insecure.setChecked(spec.insecure)
        self.form = QFormLayout(self)
        self.form.addRow("Name", self.name)
        self.form.addRow("Host", self.host)
        self.form.addRow("Port", self.port)
        self.form.addRow("User", self.username)
        self.form.addRow("Sign in with", self.auth)
        self.form.addRow("Key file", self.browse_rows[self.key_file])
        self.form.addRow("Password / passphrase", self.secret)
        self.form.addRow("Docker socket", self.socket)
        self.form.addRow("CA certificate", self.browse_rows[self.ca_file])
        self.form.addRow("Client certificate", self.browse_rows[self.cert_file])
        self.form.addRow("Client key", self.browse_rows[self.client_key])
        self.form.addRow("", self.insecure)
        self.auth.currentIndexChanged.connect(self._update)
        self.insecure.toggled.connect(self._update)
        self.name.textChanged.connect(self.completeChanged)

    def initializePage(self) -> None:
        self._update()

    def _with_browse(self, edit: QLineEdit, title: str) -> QWidget:
        """``edit`` with a Browse… button that fills it from a file chooser."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.setAccessibleName(f"Browse for the {edit.accessibleName().lower()}")
        button.clicked.connect(lambda: self.browse(edit, title))
        layout.addWidget(button)
        return row

    def browse(self, edit: QLineEdit, title: str) -> QFileDialog:
        """Choose a file for ``edit`` (non-blocking: ``open()``, never ``exec()``)."""
        start = os.path.dirname(os.path.expanduser(edit.text() or edit.placeholderText()))
        dialog = QFileDialog(self, title, start if os.path.isdir(start)
                             else os.path.expanduser("~"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setFilter(dialog.filter() | QDir.Filter.Hidden)  # ~/.ssh
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(edit.setText)
        self.browse_dialog = dialog
        dialog.open()
        return dialog

    def _update(self) -> None:
        kind = self._wizard.kind_page.kind()
        auth = self.auth_choice()
        tls = kind is TargetKind.DOCKER_TCP and not self.insecure.isChecked()
        rows: dict[QWidget, bool] = {
            self.host: kind is not TargetKind.LOCAL,
            self.port: kind is not TargetKind.LOCAL,
            self.username: kind is TargetKind.SSH,
            self.auth: kind is TargetKind.SSH,
            self.browse_rows[self.key_file]: kind is TargetKind.SSH and auth is TargetAuth.KEY,
            self.secret: kind is TargetKind.SSH and auth in (TargetAuth.KEY,
                                                             TargetAuth.PASSWORD),
            self.socket: kind is not TargetKind.DOCKER_TCP,
            self.browse_rows[self.ca_file]: tls,
            self.browse_rows[self.cert_file]: tls,
            self.browse_rows[self.client_key]: tls,
            self.insecure: kind is TargetKind.DOCKER_TCP,
        }
        for widget, visible in rows.items():
            self.form.setRowVisible(widget, visible)

    def auth_choice(self) -> TargetAuth:
        return TargetAuth(self.auth.currentData() or TargetAuth.AGENT.value)

    def isComplete(self) -> bool:
        return bool(self.name.text().strip())

    def spec(self) -> TargetSpec:
        kind = self._wizard.kind_page.kind()
        return TargetSpec(
            name=self.name.text(), kind=kind, host=self.host.text(),
            port=self.port.value() or None, username=self.username.text(),
            auth=self.auth_choice() if kind is TargetKind.SSH else TargetAuth.NONE,
            key_file=self.key_file.text(), docker_socket=self.socket.text(),
            ca_file=self.ca_file.text(), cert_file=self.cert_file.text(),
            client_key_file=self.client_key.text(), insecure=self.insecure.isChecked(),
        )


class StepsView(QTreeWidget):
    """The steps of a connection test: mark, step, time, what was found or what to fix."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Connection test steps")
        self.setHeaderLabels(["", "Step", "Time", "Result"])
        self.setRootIsDecorated(False)
        self.setWordWrap(True)
        self.setColumnWidth(0, 28)
        self.setColumnWidth(1, 170)
        self.setColumnWidth(2, 64)
        # The result column takes the room left and wraps; no sideways scrolling.
        self.header().setMinimumSectionSize(28)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def add_step(self, step: StepResult) -> None:
        time = f"{step.duration_ms:.0f} ms" if step.state != "skipped" else ""
        item = QTreeWidgetItem([STATE_MARK.get(step.state, "?"), step.title, time,
                                step.message])
        item.setToolTip(3, step.message)
        item.setData(0, Qt.ItemDataRole.UserRole, step.state)
        self.addTopLevelItem(item)

    def states(self) -> list[str]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [str(item.data(0, Qt.ItemDataRole.UserRole)) for item in items if item]


class TestPage(QWizardPage):
    def __init__(self, wizard: TargetWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Connection test")
        self.setSubTitle("Each step with its time; a failed step says what to fix.")
        self.steps = StepsView()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Test result")
        self.again = QPushButton("Test again")
        self.cancel = QPushButton("Cancel test")
        self.again.clicked.connect(self.start)
        self.cancel.clicked.connect(lambda: wizard.store.cancel("test"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        buttons.addWidget(self.again)
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.report: ConnectionReport | None = None
        self._store_slots: tuple[tuple[Any, Any], ...] = (
            (wizard.store.sig_test_step, self._on_step),
            (wizard.store.sig_test_finished, self._on_finished),
            (wizard.store.sig_error, self._on_error))
        for signal, handler in self._store_slots:
            signal.connect(handler)

    def detach(self) -> None:
        """Disconnect from the store (what ``__init__`` connected); idempotent."""
        wired, self._store_slots = self._store_slots, ()
        for signal, handler in wired:
            signal.disconnect(handler)

    def initializePage(self) -> None:
        self.start()

    def start(self) -> None:
        self.steps.clear()
        self.report = None
        self.summary.setText("Testing…")
        self.again.setEnabled(False)
        self.cancel.setEnabled(True)
        page = self._wizard.connection_page
        task = self._wizard.store.test_draft(page.spec(), page.secret.text() or None,
                                             target_id=self._wizard.target_id)
        task.add_done_callback(lambda _t: self._done())

    def _done(self) -> None:
        self.again.setEnabled(True)
        self.cancel.setEnabled(False)
        if self.report is None and self.summary.text() == "Testing…":
            self.summary.setText("The test was cancelled.")
        self.completeChanged.emit()

    def _on_step(self, step: StepResult) -> None:
        if self.isVisible() or self._wizard.currentPage() is self:
            self.steps.add_step(step)

    def _on_finished(self, report: ConnectionReport) -> None:
        self.report = report
        if report.ok:
            self.summary.setText(f"Connected: Docker {report.engine_version}. "
                                 "Next saves the target and scans it.")
        else:
            self.summary.setText(f"Not connected: {report.error}\nYou can fix the "
                                 "connection (Back) or save it anyway (Next).")
        self.completeChanged.emit()

    def _on_error(self, code: str, message: str) -> None:
        if self._wizard.currentPage() is self:
            self.summary.setText(message)

    def isComplete(self) -> bool:
        return self.again.isEnabled()


class ScanPage(QWizardPage):
    def __init__(self, wizard: TargetWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Save and scan")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Scan result")
        self.capabilities = QTreeWidget()
        self.capabilities.setAccessibleName("Capabilities")
        self.capabilities.setHeaderLabels(["Capability", "Version", "Details"])
        self.capabilities.setRootIsDecorated(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.capabilities, 1)
        self.saved: Target | None = None
        self.finished_scan = False

    def initializePage(self) -> None:
        self.finished_scan = False
        self.status.setText("Saving…")
        page = self._wizard.connection_page
        store = self._wizard.store
        task = store.save(page.spec(), page.secret.text() or None,
                          target_id=self._wizard.target_id)
        task.add_done_callback(lambda t: self._saved(t.result() if not t.cancelled()
                                                     else None))

    def _saved(self, target: Target | None) -> None:
        if target is None:
            self.status.setText("The target was not saved (see the message).")
            self.finished_scan = True
            self.completeChanged.emit()
            return
        self.saved = target
        self._wizard.target_id = target.id
        # Saved: Cancel would not undo it, so only Finish is left.
        self._wizard.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.status.setText(f"Saved {target.name}. Scanning…")
        task = self._wizard.store.scan(target.id)
        task.add_done_callback(lambda _t: self._scanned())

    def _scanned(self) -> None:
        assert self.saved is not None
        caps = self._wizard.store.capabilities(self.saved.id)
        self.capabilities.clear()
        for cap in caps:
            item = QTreeWidgetItem(list(capability_row(cap)))
            for column in range(3):
                item.setToolTip(column, item.text(column))
            self.capabilities.addTopLevelItem(item)
        for column in range(2):
            self.capabilities.resizeColumnToContents(column)
        target = self._wizard.store.target(self.saved.id) or self.saved
        self.status.setText(f"Saved {target.name} — status {target.status.value}."
                            if caps else f"Saved {target.name}; the scan did not finish "
                            f"(status {target.status.value}).")
        self.finished_scan = True
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.finished_scan


class TargetWizard(QWizard):
    """Add a target (``target=None``) or edit one."""

    def __init__(self, store: TargetsStore, target: Target | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.target_id: uuid.UUID | None = target.id if target is not None else None
        has_local = any(t.kind is TargetKind.LOCAL for t in store.targets)
        self.initial = TargetSpec.of(target) if target is not None else TargetSpec(
            name="", kind=TargetKind.SSH if has_local else TargetKind.LOCAL,
            auth=TargetAuth.AGENT)
        self.setWindowTitle("Edit target" if target else "Add a target")
        self.setAccessibleName(self.windowTitle())
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.kind_page = KindPage(self)
        self.connection_page = ConnectionPage(self)
        self.test_page = TestPage(self)
        self.scan_page = ScanPage(self)
        for page in (self.kind_page, self.connection_page, self.test_page, self.scan_page):
            self.addPage(page)
        self.resize(760, 520)
        self.rejected.connect(lambda: store.cancel("test"))
        # Whoever connected disconnects: the store outlives this wizard.
        self.finished.connect(lambda _r: self.test_page.detach())

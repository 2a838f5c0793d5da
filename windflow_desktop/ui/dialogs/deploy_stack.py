"""``DeployDialog``: deploy a stack revision — choose targets, fill the variables form
built from the revision's spec (secret fields hidden, required ones marked, defaults as
placeholders, generated ones may stay empty), per-target overrides, parallel or staged
rollout, and a preview (preflight checks + ``compose config`` run on the first chosen
target). Deploy calls ``DeploymentsStore.deploy`` and closes when it is accepted; the
Deploy button stays disabled while a deploy is on its way (no double deploy). The dialog
deletes itself when closed and drops its connections to the store then (it holds the
values typed, secrets included).
"""

from __future__ import annotations

import uuid
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...domain.models import Stack, StackRevision
from ...domain.variables import parse_spec
from ...stores.deployments import DeploymentsStore
from ..widgets.message_bar import Level, MessageBar


class DeployDialog(QDialog):
    def __init__(self, store: DeploymentsStore, stack: Stack, revision: StackRevision,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.store, self.stack, self.revision = store, stack, revision
        self._deploying = False
        self._connections: list[Any] = []
        self.setWindowTitle(f"Deploy {stack.name} (revision {revision.number})")
        self.resize(900, 600)
        self.message = MessageBar()

        self.targets = QListWidget()
        self.targets.setAccessibleName("Targets")
        self._fill_targets()
        self._connections.append(store.sig_targets_changed.connect(self._fill_targets))
        if not store.targets:
            store.load_targets()

        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for spec in parse_spec(revision.variables):
            edit = QLineEdit()
            edit.setAccessibleName(spec.name)
            if spec.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            hint = spec.default or ("generated when empty" if spec.generator else "")
            edit.setPlaceholderText(hint)
            edit.setToolTip(spec.description)
            label = spec.name + (" *" if spec.required and not spec.default
                                 and not spec.generator else "")
            if spec.secret:
                label += " (secret)"
            form.addRow(label, edit)
            self.fields[spec.name] = edit
        variables = QGroupBox("Variables")
        variables.setLayout(form)
        self.overrides = QLineEdit()
        self.overrides.setAccessibleName("Per-target overrides")
        self.overrides.setPlaceholderText("target: NAME=value, …; other-target: NAME=value")

        self.parallel = QSpinBox()
        self.parallel.setAccessibleName("Targets at once")
        self.parallel.setRange(1, 16)
        self.parallel.setValue(4)
        self.staged = QCheckBox("Staged: stop at the first failure")
        self.staged.setAccessibleName("Stop at the first failure")
        rollout = QHBoxLayout()
        rollout.addWidget(QLabel("Targets at once:"))
        rollout.addWidget(self.parallel)
        rollout.addWidget(self.staged)
        rollout.addStretch(1)

        self.preview_button = QPushButton("Preview and preflight")
        self.preview_button.setAccessibleName("Preview")
        self.preview_button.clicked.connect(self.preview)
        self.preview_text = QPlainTextEdit()
        self.preview_text.setReadOnly(True)
        self.preview_text.setAccessibleName("Preview output")
        self.preview_text.setPlaceholderText(
            "Preflight checks and `compose config` run on the first chosen target.")
        self._connections.append(
            store.sig_preview_ready.connect(
                lambda preview: self.preview_text.setPlainText(preview.as_text())))
        self._connections.append(store.sig_error.connect(
            lambda code, msg: self.message.show_message(msg, Level.ERROR, code=code)))
        self.finished.connect(self._disconnect)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("Targets"))
        lv.addWidget(self.targets, 1)
        lv.addWidget(variables)
        lv.addWidget(QLabel("Per-target overrides"))
        lv.addWidget(self.overrides)
        lv.addLayout(rollout)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.preview_button, 0, Qt.AlignmentFlag.AlignLeft)
        rv.addWidget(self.preview_text, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([420, 480])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.deploy_button = self.buttons.addButton("Deploy",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.deploy_button.setAccessibleName("Deploy")
        self.buttons.accepted.connect(self.deploy)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        layout.addWidget(self.buttons)

    def _disconnect(self) -> None:
        """Closed: the store's signals no longer reach this dialog."""
        for connection in self._connections:
            QObject.disconnect(connection)
        self._connections.clear()

    def _fill_targets(self) -> None:
        chosen = set(self.chosen_targets())
        self.targets.clear()
        for target in self.store.targets:
            item = QListWidgetItem(f"{target.name}  ({target.kind.value}, {target.status.value})")
            item.setData(Qt.ItemDataRole.UserRole, target.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if target.id in chosen
                               else Qt.CheckState.Unchecked)
            self.targets.addItem(item)

    def chosen_targets(self) -> list[uuid.UUID]:
        out = []
        for i in range(self.targets.count()):
            item = self.targets.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def values(self) -> dict[str, str | None]:
        return {name: edit.text() or None for name, edit in self.fields.items()}

    def parsed_overrides(self) -> dict[uuid.UUID, dict[str, str | None]]:
        by_name = {t.name: t.id for t in self.store.targets}
        out: dict[uuid.UUID, dict[str, str | None]] = {}
        for part in self.overrides.text().split(";"):
            name, _, assignments = part.partition(":")
            if not name.strip() or name.strip() not in by_name:
                continue
            values: dict[str, str | None] = {}
            for assignment in assignments.split(","):
                key, eq, value = assignment.partition("=")
                if eq and key.strip():
                    values[key.strip()] = value.strip()
            out[by_name[name.strip()]] = values
        return out

    def preview(self) -> None:
        targets = self.chosen_targets()
        if not targets:
            self.message.show_message("Choose a target first", Level.WARNING)
            return
        values = {**self.values(), **self.parsed_overrides().get(targets[0], {})}
        self.preview_text.setPlainText("Running preflight and compose config on the target…")
        self.store.preview(self.stack.id, targets[0], values, self.revision.number)

    def deploy(self) -> None:
        if self._deploying:  # a second click while the first deploy is on its way
            return
        targets = self.chosen_targets()
        if not targets:
            self.message.show_message("Choose at least one target", Level.WARNING)
            return
        task: Any = self.store.deploy(
            self.stack.id, targets, variables=self.values(), overrides=self.parsed_overrides(),
            revision=self.revision.number, parallel=self.parallel.value(),
            stop_on_failure=self.staged.isChecked())
        self._deploying = True
        self.deploy_button.setEnabled(False)

        def done(t: Any) -> None:
            if not shiboken6.isValid(self):  # closed (and deleted) meanwhile
                return
            self._deploying = False
            if not t.cancelled() and t.exception() is None and t.result():
                self.accept()
            else:
                self.deploy_button.setEnabled(True)

        task.add_done_callback(done)


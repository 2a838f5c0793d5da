"""``DeployDialog``: deploy a stack revision — choose targets, fill the variables form
built from the revision's spec (secret fields hidden, required ones marked, defaults as
placeholders, generated ones may stay empty), a table of per-target overrides (one row
per checked target), parallel or staged rollout, and a preview run on the first chosen
target: the preflight checks as a list (pass/fail icon and text) under a one-line summary,
then the host access the revision needs (warnings), then the ``compose config`` text
(secret values masked). A failed check does not disable Deploy: the pipeline refuses that
target with its own error. A variable the Compose file requires (``${NAME:?…}``) is
marked like a required one, and Deploy with it empty is refused here, naming it. Deploy
calls ``DeploymentsStore.deploy`` and closes when it is accepted; the Deploy button stays
disabled while a deploy is on its way (no double deploy). The dialog deletes itself when
closed and drops its connections to the store then (it holds the values typed, secrets
included).
"""

from __future__ import annotations

import uuid
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QFontDatabase
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
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...domain.models import DeployPreview, PreviousValues, Stack, StackRevision
from ...domain.variables import parse_spec, required_by_text
from ...stores.deployments import DeploymentsStore
from ..widgets.message_bar import Level, MessageBar
from ..widgets.overrides_table import OverridesTable
from ..widgets.target_text import target_summary

CHECK_ROLE = Qt.ItemDataRole.UserRole  # a preflight row's ``PreflightCheck``


class DeployDialog(QDialog):
    def __init__(self, store: DeploymentsStore, stack: Stack, revision: StackRevision,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.store, self.stack, self.revision = store, stack, revision
        self._deploying = False
        self._connections: list[Any] = []
        self.fields: dict[str, QLineEdit] = {}
        self._hints: dict[str, str] = {}
        self._typed: set[str] = set()  # fields the user changed: prefill leaves them be
        self._prefilled_from: uuid.UUID | None = None
        self._kept_secrets: frozenset[str] = frozenset()  # left empty, they stay as they run
        self.setWindowTitle(f"Deploy {stack.name} (revision {revision.number})")
        self.resize(900, 600)
        self.message = MessageBar()

        specs = parse_spec(revision.variables)
        # Those the file requires and nothing fills in (no default, no generator).
        by_text = required_by_text(revision.compose_yaml)
        self.required = {s.name: by_text.get(s.name) or "a value is required"
                         for s in specs if not s.default and not s.generator
                         and (s.required or s.name in by_text)}
        self.overrides = OverridesTable(specs)
        self.targets = QListWidget()
        self.targets.setAccessibleName("Targets")
        self.targets.itemChanged.connect(self._follow_checks)
        self._fill_targets()
        self._connections.append(store.sig_targets_changed.connect(self._fill_targets))
        if not store.targets:  # (cleared on a change of organization, kept current by
            store.load_targets()  # the target events)

        form = QFormLayout()
        for spec in specs:
            edit = QLineEdit()
            edit.setAccessibleName(spec.name)
            if spec.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            hint = spec.default or ("generated when empty" if spec.generator else "")
            self._hints[spec.name] = hint
            edit.textEdited.connect(lambda _t, n=spec.name: self._typed.add(n))
            edit.setPlaceholderText(hint)
            edit.setToolTip(spec.description)
            label = spec.name + (" *" if spec.name in self.required else "")
            if spec.secret:
                label += " (secret)"
            form.addRow(label, edit)
            self.fields[spec.name] = edit
        variables = QGroupBox("Variables")
        variables.setLayout(form)

        self.parallel = QSpinBox()
        self.parallel.setAccessibleName("Targets at once")
        self.parallel.setRange(1, 16)
        self.parallel.setValue(4)
        self.staged = QCheckBox("Staged: stop at the first failure")
        self.staged.setAccessibleName("Stop at the first failure")
        self.staged.setToolTip(
            "Deploy in waves of \"Targets at once\". A wave counts as good once its "
            "services have stayed up through the watch after success (10 s); a failure "
            "stops the waves after it.")
        rollout = QHBoxLayout()
        rollout.addWidget(QLabel("Targets at once:"))
        rollout.addWidget(self.parallel)
        rollout.addWidget(self.staged)
        rollout.addStretch(1)

        self.preview_button = QPushButton("Preview and preflight")
        self.preview_button.setAccessibleName("Preview")
        self.preview_button.clicked.connect(self.preview)
        self.preflight = QLabel(
            "Preflight checks and the resolved Compose file (compose config) come from the "
            "first chosen target.")
        self.preflight.setWordWrap(True)
        self.checks = QListWidget()
        self.checks.setAccessibleName("Preflight checks")
        self.checks.setIconSize(QSize(16, 16))
        self.preview_text = QPlainTextEdit()
        self.preview_text.setReadOnly(True)
        self.preview_text.setAccessibleName("Preview output")
        self.preview_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview_text.setPlaceholderText("The resolved Compose file shows here.")
        self._connections.append(store.sig_preview_ready.connect(self._show_preview))
        self._connections.append(store.sig_previous_values.connect(self._prefill))
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
        lv.addWidget(self.overrides, 1)
        lv.addLayout(rollout)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.preview_button, 0, Qt.AlignmentFlag.AlignLeft)
        rv.addWidget(self.preflight)
        rv.addWidget(self.checks, 1)
        rv.addWidget(self.preview_text, 2)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([420, 480])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
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
            item = QListWidgetItem(target_summary(target))
            item.setData(Qt.ItemDataRole.UserRole, target.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if target.id in chosen
                               else Qt.CheckState.Unchecked)
            self.targets.addItem(item)
        self._follow_checks()

    def _follow_checks(self) -> None:
        """The overrides table has a row for each checked target; the variables start
        from the last deployment of this stack on the first of them."""
        names = {t.id: t.name for t in self.store.targets}
        chosen = self.chosen_targets()
        self.overrides.set_targets([(i, names.get(i, str(i))) for i in chosen])
        first = chosen[0] if chosen else None
        if first != self._prefilled_from:
            self._prefilled_from = first
            if first is not None:
                self.store.load_previous_values(self.stack.id, first)
            else:
                self._prefill(self.stack.id, None, PreviousValues())

    def _prefill(self, stack_id: uuid.UUID, target_id: uuid.UUID | None,
                 previous: PreviousValues) -> None:
        """Fill the fields the user has not touched with the values of the deployment
        that runs there; a kept secret stays empty (hidden) and says it is kept."""
        if stack_id != self.stack.id or target_id != self._prefilled_from:
            return  # an answer for a target no longer first
        self._kept_secrets = previous.kept_secrets
        for name, edit in self.fields.items():
            if name in self._typed:
                continue
            edit.setText(previous.plain.get(name, ""))
            edit.setPlaceholderText("kept from the last deployment (hidden); type to change"
                                    if name in previous.kept_secrets else self._hints[name])

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
        return self.overrides.overrides()

    def missing_required(self, targets: list[uuid.UUID]) -> list[str]:
        """The required variables left empty for any of ``targets`` (overrides count)."""
        overrides = self.parsed_overrides()
        missing: list[str] = []
        for target in targets:
            values = {**self.values(), **overrides.get(target, {})}
            missing.extend(name for name in self.required
                           if not values.get(name) and name not in missing
                           and name not in self._kept_secrets)  # the service fills those
        return missing

    def _show_preview(self, preview: DeployPreview) -> None:
        self.checks.clear()
        for check in preview.checks:
            icon = self.style().standardIcon(
                QStyle.StandardPixmap.SP_DialogApplyButton if check.ok
                else QStyle.StandardPixmap.SP_MessageBoxCritical)
            item = QListWidgetItem(icon, check.detail if check.ok else f"Failed: {check.detail}")
            item.setData(CHECK_ROLE, check)
            verdict = "passed" if check.ok else "failed"
            item.setToolTip(f"The {check.name} check {verdict}")
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         f"{check.name} {verdict}: {check.detail}")
            if not check.ok:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.checks.addItem(item)
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for grant in preview.host_access:
            item = QListWidgetItem(warning, f"Needs host access: {grant}")
            item.setToolTip("The stack reaches into the target's host; it deploys only "
                            "with the stack's host access flag")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"warning: needs host access: "
                                                               f"{grant}")
            self.checks.addItem(item)
        failed = sum(not c.ok for c in preview.checks)
        self.preflight.setText(f"Preflight on {preview.target_name}: " + (
            f"{failed} of {len(preview.checks)} checks failed" if failed
            else "all checks passed") + (
            f"; needs host access ({len(preview.host_access)})" if preview.host_access
            else ""))
        self.preview_text.setPlainText(preview.config)

    def preview(self) -> None:
        targets = self.chosen_targets()
        if not targets:
            self.message.show_message("Choose a target first", Level.WARNING)
            return
        values = {**self.values(), **self.parsed_overrides().get(targets[0], {})}
        self.checks.clear()
        self.preview_text.clear()
        self.preflight.setText("Running preflight and compose config on the target…")
        task: Any = self.store.preview(self.stack.id, targets[0], values, self.revision.number)

        def done(t: Any) -> None:  # failed: its error is in the message bar
            if shiboken6.isValid(self) and not t.cancelled() and (
                    t.exception() is not None or t.result() is None):
                self.preflight.setText("No preview: see the message above.")

        task.add_done_callback(done)

    def deploy(self) -> None:
        if self._deploying:  # a second click while the first deploy is on its way
            return
        targets = self.chosen_targets()
        if not targets:
            self.message.show_message("Choose at least one target", Level.WARNING)
            return
        missing = self.missing_required(targets)
        if missing:
            self.message.show_message(
                "Give a value to " + "; ".join(f"{name} ({self.required[name]})"
                                               for name in missing), Level.ERROR)
            field = self.fields.get(missing[0])
            if field is not None:
                field.setFocus()
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


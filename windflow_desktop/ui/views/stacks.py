"""The Stacks page: the list (search, archived; ``stacks_list``), and for the selected
stack an editor with YAML highlighting and validation marks, the variables table, and the
revisions with diff and restore. Deploy opens the deploy dialog. Everything goes through
``StacksStore``; nothing here does I/O. The list filters as you type (Return searches the
workspace), sorts by any column, has a context menu, and remembers its columns; Ctrl+F
focuses the filter, F5 reloads, Delete (in the list) asks before archiving the stack.

Signals:
    sig_deploy_requested(object): the selected ``Stack`` should be deployed.
"""

from __future__ import annotations

import uuid
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.compose import ComposeReport
from ...domain.models import Stack
from ...stores.stacks import StackDetails, StacksStore
from ..theme import set_font
from ..widgets.list_tools import (
    add_action,
    confirm,
    install_context_menu,
    install_page_shortcuts,
)
from ..widgets.message_bar import Level, MessageBar
from ..widgets.page_header import PageHeader, page_layout
from ..widgets.variables_table import VariablesTable
from .stacks_compose import ComposePane
from .stacks_list import StackListPane
from .stacks_revisions import RevisionsPane
from .stacks_updates import UpdatePolicyChoice
from .unsaved import UNSAVED_MARK, UnsavedGuard

NEW_STACK = """services:
  web:
    image: nginx:alpine
    ports:
      - "${WEB_PORT:-8080}:80"
"""


class StacksPage(QWidget):
    sig_deploy_requested = Signal(object)
    unsaved: UnsavedGuard  # made once the editor exists (see __init__)

    def __init__(self, store: StacksStore, ui_settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Stacks page")
        self.confirm_box: QMessageBox | None = None
        self.message = MessageBar()

        # list side
        self.list_pane = left = StackListPane(ui_settings)
        self.search, self.archived = left.search, left.archived
        self.model, self.proxy, self.table = left.model, left.proxy, left.table
        self.header_memory, self.column_fit = left.header_memory, left.column_fit
        self.new_button, self.import_button = left.new_button, left.import_button
        self.search.returnPressed.connect(lambda: store.load(search=self.search.text()))
        self.archived.toggled.connect(lambda on: store.load(archived=on))
        self.search.textChanged.connect(self._filter_changed)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        install_context_menu(self.table, self.build_context_menu)
        self.new_button.clicked.connect(lambda: self.unsaved.ask(self.new_stack))
        self.import_button.clicked.connect(self._import)

        # detail side
        self.title = QLabel("Choose a stack, or create one")
        self.title.setObjectName("sectionTitle")
        set_font(self.title, pixel_size=15, bold=True)
        self.message_edit = QLineEdit()
        self.message_edit.setPlaceholderText("What changed? (revision message)")
        self.message_edit.setAccessibleName("Revision message")
        self.save_button = QPushButton("Save revision")
        self.save_button.setAccessibleName("Save revision")
        self.save_button.clicked.connect(self.save)
        self.deploy_button = QPushButton("Deploy…")
        self.deploy_button.setAccessibleName("Deploy stack")
        self.deploy_button.clicked.connect(self._deploy)
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setAccessibleName("Duplicate stack")
        self.duplicate_button.clicked.connect(self._duplicate)
        self.archive_button = QPushButton("Archive")
        self.archive_button.setAccessibleName("Archive stack")
        self.archive_button.clicked.connect(
            lambda: store.set_archived(not self.archived.isChecked()))
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export stack")
        self.export_button.clicked.connect(self._export)

        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Stack name")
        self.name_edit.setPlaceholderText("Name (required)")
        self.tags_edit = QLineEdit()
        self.tags_edit.setAccessibleName("Tags")
        self.tags_edit.setPlaceholderText("web, staging")
        self.tags_edit.setToolTip("Tags, separated by commas")
        self.description_edit = QLineEdit()
        self.description_edit.setAccessibleName("Description")
        self.description_edit.setPlaceholderText("What this stack is for")
        details = QFormLayout()
        details.setContentsMargins(0, 0, 0, 0)
        name_row = QHBoxLayout()
        name_row.addWidget(self.name_edit, 2)
        name_row.addWidget(QLabel("Tags"))
        name_row.addWidget(self.tags_edit, 1)
        details.addRow("Name", name_row)
        details.addRow("Description", self.description_edit)
        self.update_policy = UpdatePolicyChoice()
        self.update_policy.activated.connect(lambda _i: self._set_update_policy())
        policy_row = QHBoxLayout()
        policy_row.addWidget(self.update_policy)
        policy_row.addStretch(1)
        details.addRow("Image updates", policy_row)

        self.compose_pane = compose_tab = ComposePane()
        self.editor, self.issues = compose_tab.editor, compose_tab.issues
        self.validation_label, self.host_access = compose_tab.validation_label, \
            compose_tab.host_access
        self.editor.sig_text_settled.connect(self._validate)
        self.host_access.clicked.connect(self._set_host_access)

        self.variables = VariablesTable()
        self.variables.itemChanged.connect(lambda _: self.editor.sig_text_settled.emit())
        add_var = QPushButton("Add variable")
        add_var.setAccessibleName("Add variable")
        add_var.clicked.connect(lambda: self.variables.add_variable())
        remove_var = QPushButton("Remove variable")
        remove_var.setAccessibleName("Remove variable")
        remove_var.clicked.connect(lambda: self.variables.removeRow(self.variables.currentRow()))
        vars_tab = QWidget()
        vv = QVBoxLayout(vars_tab)
        vv.addWidget(self.variables, 1)
        vb = QHBoxLayout()
        vb.addWidget(add_var)
        vb.addWidget(remove_var)
        vb.addStretch(1)
        vv.addLayout(vb)

        self.revisions_pane = rev_tab = RevisionsPane(font=self.editor.font())
        self.revisions_model, self.revisions = rev_tab.model, rev_tab.table
        self.diff_button, self.restore_button = rev_tab.diff_button, rev_tab.restore_button
        self.diff_view = rev_tab.diff_view
        self.diff_button.clicked.connect(self._diff)
        self.restore_button.clicked.connect(self._restore)
        self.revisions.selectionModel().selectionChanged.connect(
            lambda *_: self._enable_revision_actions())

        self.tabs = QTabWidget()
        self.tabs.addTab(compose_tab, "Compose")
        self.tabs.addTab(vars_tab, "Variables")
        self.tabs.addTab(rev_tab, "Revisions")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        for b in (self.deploy_button, self.duplicate_button, self.archive_button,
                  self.export_button):
            head.addWidget(b)
        rl.addLayout(head)
        rl.addLayout(details)
        rl.addWidget(self.tabs, 1)
        save_row = QHBoxLayout()
        save_row.addWidget(self.message_edit, 1)
        save_row.addWidget(self.save_button)
        rl.addLayout(save_row)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([300, 900])
        self.header = PageHeader("Stacks", "Compose files with variables; every save is a "
                                           "revision you can diff and restore.")
        layout = page_layout(self, self.header)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self._creating = False
        self._editing_id: uuid.UUID | None = None  # the stack whose text the editor holds
        self.unsaved = UnsavedGuard(
            self, lambda: (self.editor.toPlainText(), self.variables.spec()), self.save,
            error_of=store.error_of)
        self.unsaved.sig_dirty_changed.connect(self._mark_unsaved)
        self.editor.textChanged.connect(self.unsaved.check)
        self.variables.itemChanged.connect(lambda _i: self.unsaved.check())
        self.variables.model().rowsInserted.connect(lambda *_a: self.unsaved.check())
        self.variables.model().rowsRemoved.connect(lambda *_a: self.unsaved.check())
        self.shortcuts = install_page_shortcuts(
            self, filter_edit=self.search, refresh=self.refresh, delete=self.confirm_archive,
            list_view=self.table)
        store.sig_rows_reset.connect(lambda: self.model.reset(store.rows))
        store.sig_row_changed.connect(lambda s: self.model.apply([s]))
        store.sig_row_removed.connect(lambda sid: self.model.apply(removals=[sid]))
        store.sig_selected_changed.connect(self._show_selected)
        store.sig_validated.connect(self._show_report)
        store.sig_diff_ready.connect(rev_tab.show_diff)
        store.sig_exported.connect(self._exported)
        store.sig_error.connect(lambda code, msg: self.message.show_message(
            msg, Level.ERROR, code=code))
        self.model.reset(store.rows)
        self._show_selected()

    def _set_host_access(self, on: bool) -> None:
        task: Any = self.store.set_host_access(on)

        def done(_: Any) -> None:  # refused (an error shows): the box shows the stored flag
            if shiboken6.isValid(self) and self.store.selected is not None:
                self.host_access.setChecked(self.store.selected.host_access)

        task.add_done_callback(done)

    def _set_update_policy(self) -> None:
        task: Any = self.store.set_update_policy(self.update_policy.policy)

        def done(_: Any) -> None:  # refused (an error shows): the choice shows the stored one
            if shiboken6.isValid(self) and self.store.selected is not None:
                self.update_policy.show_policy(self.store.selected.update_policy)

        task.add_done_callback(done)

    # -- actions -----------------------------------------------------------------------

    def refresh(self) -> None:
        self.message.clear()
        self.store.load()

    def _filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if not text and self.store.search:  # cleared after a workspace search: all again
            self.store.load(search="")

    def confirm_archive(self) -> None:
        """Delete in the list: archive the selected stack (stacks are archived, never
        deleted — their revisions stay for the deployments that used them)."""
        stack = self.store.selected
        if stack is None or stack.archived_at is not None or not self.archive_button.isEnabled():
            return
        self.confirm_box = confirm(
            self, title="Archive stack", text=f"Archive {stack.name}?",
            detail="It leaves the list of stacks; its revisions and deployments stay, and "
                   "you can unarchive it from the archived stacks.",
            button="Archive", then=lambda: self.store.set_archived(True))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("Stack actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        stack = self.store.selected
        if stack is not None:
            on = self.deploy_button.isEnabled()
            add_action(menu, "Deploy…", self._deploy, enabled=on)
            add_action(menu, "Duplicate…", self._duplicate, enabled=on)
            add_action(menu, "Export…", self._export, enabled=on)
            menu.addSeparator()
            if stack.archived_at is None:
                add_action(menu, "Archive…", self.confirm_archive, enabled=on,
                           shortcut=QKeySequence.StandardKey.Delete)
            else:
                add_action(menu, "Unarchive", lambda: self.store.set_archived(False),
                           enabled=on)
            menu.addSeparator()
        add_action(menu, "New stack", lambda: self.unsaved.ask(self.new_stack))
        add_action(menu, "Import…", self._import)
        add_action(menu, "Refresh", self.refresh, shortcut=QKeySequence(Qt.Key.Key_F5))
        return menu

    def new_stack(self) -> None:
        self._creating = True
        self.table.clearSelection()
        self.table.selectionModel().clearCurrentIndex()  # a click on the last one shows it
        self.title.setText("New stack")
        self.editor.setPlainText(NEW_STACK)
        self.variables.set_spec([{"name": "WEB_PORT", "default": "8080"}])
        self.message_edit.setText("Created")
        self._show_details(None)
        self.name_edit.setFocus()
        self.tabs.setCurrentIndex(0)
        self._enable(True, creating=True)
        self._editing_id = None
        self.unsaved.mark_clean()  # the template: nothing of the user's to lose yet

    def save(self) -> Any:
        """Save (or create); the store's task, or None when nothing was started."""
        text, spec = self.editor.toPlainText(), self.variables.spec()
        message = self.message_edit.text().strip()
        details = self.details()
        if not details.name:
            self.message.show_message("Give the stack a name.", Level.ERROR)
            self.name_edit.setFocus()
            return None
        if self._creating:
            task = self.store.create(name=details.name, description=details.description,
                                     tags=details.tags, compose_yaml=text, variables=spec,
                                     message=message)
            self._creating = False
        else:
            task = self.store.save(compose_yaml=text, variables=spec, message=message,
                                   details=details)
        self.message_edit.clear()
        self.message.clear_on_success(task, self.store)
        return task

    def details(self) -> StackDetails:
        """The name, description and tags as the editor shows them."""
        tags = tuple(t.strip() for t in self.tags_edit.text().split(",") if t.strip())
        return StackDetails(self.name_edit.text().strip(),
                            self.description_edit.text().strip(), tags)

    def _show_details(self, stack: Stack | None) -> None:
        self.name_edit.setText(stack.name if stack else "")
        self.description_edit.setText(stack.description if stack else "")
        self.tags_edit.setText(", ".join(stack.tags) if stack else "")

    def _deploy(self) -> None:
        if self.store.selected is not None:
            self.sig_deploy_requested.emit(self.store.selected)

    def _duplicate(self) -> None:
        if self.store.selected is None:
            return
        name, ok = QInputDialog.getText(self, "Duplicate stack", "Name of the copy:",
                                        text=f"{self.store.selected.name} copy")
        if ok and name.strip():
            self.store.duplicate(name)

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a stack", "",
                                              "WindFlow stack (*.json *.yaml *.yml)")
        if path:
            self.store.import_file(path)

    def _export(self) -> None:
        stack = self.store.selected
        if stack is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the stack", f"{stack.slug}.windflow.yaml",
            "YAML (*.yaml);;JSON (*.json)")
        if path:
            self.store.export_file(path, "json" if path.endswith(".json") else "yaml")

    def _exported(self, fmt: str, path: str) -> None:
        self.message.show_message(f"Exported to {path} ({fmt}, no secret values)",
                                  Level.SUCCESS, timeout_ms=4000)

    def _selected_numbers(self) -> list[int]:
        return self.revisions_pane.selected_numbers()

    def _diff(self) -> None:
        numbers = self._selected_numbers()
        current = self.store.revision.number if self.store.revision else 0
        if len(numbers) == 1 and numbers[0] != current:
            self.store.diff(numbers[0], current)
        elif len(numbers) == 2:
            self.store.diff(min(numbers), max(numbers))

    def _restore(self) -> None:
        numbers = self._selected_numbers()
        if len(numbers) == 1:
            self.store.restore(numbers[0])

    def _validate(self) -> None:
        if self.store.selected is None and not self._creating:
            return  # an empty editor with nothing chosen has nothing to say
        self.store.validate(self.editor.toPlainText(), self.variables.spec())

    # -- showing -----------------------------------------------------------------------

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            stack_id = self.model.row(self.proxy.mapToSource(current).row()).id
            if self.store.selected is not None and self.store.selected.id == stack_id \
                    and not self._creating:
                return  # already shown (the page itself moved the current row)
            if self.unsaved.dirty:
                self._show_current_row()  # stay until the user says what to do
            self.unsaved.ask(lambda: self._switch_to(stack_id))

    def _switch_to(self, stack_id: uuid.UUID) -> None:
        self._creating = False
        self.store.select(stack_id)

    def _show_current_row(self) -> None:
        """Put the list's selection back on the stack being edited (none: creating)."""
        stack = self.store.selected
        pos = self.model.position(stack.id) if stack is not None and not self._creating \
            else None
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        if pos is None:
            selection.clear()
        else:
            selection.setCurrentIndex(
                self.proxy.mapFromSource(self.model.index(pos, 0)),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
        selection.blockSignals(False)
        self.table.viewport().update()

    def _discard_edits(self) -> None:
        self.unsaved.mark_clean()
        self._show_selected()

    def _mark_unsaved(self, dirty: bool) -> None:
        """The title and the stack's row say when there are unsaved changes."""
        title = self.title.text().removesuffix(f" {UNSAVED_MARK} unsaved changes")
        self.title.setText(f"{title} {UNSAVED_MARK} unsaved changes" if dirty else title)
        stack = self.store.selected
        self.model.mark_unsaved(stack.id if dirty and stack is not None
                                and not self._creating else None)

    def ask_before_leaving(self, then: Any) -> None:
        """Quitting: ask about unsaved changes first (Save / Discard / Cancel)."""
        self.unsaved.ask(then)

    def _show_selected(self) -> None:
        stack, rev = self.store.selected, self.store.revision
        self._enable(stack is not None)
        if stack is None:
            if not self._creating:
                self.title.setText("Choose a stack, or create one")
                self._show_details(None)
                self.editor.blockSignals(True)
                self.editor.clear()
                self.editor.blockSignals(False)
                self.editor.set_issues([])
                self.issues.clear()
                self.issues.hide()
                self.validation_label.clear()
                self.variables.set_spec([])
                self.revisions_model.reset([])
                self._enable_revision_actions()
                self.unsaved.mark_clean()
            return
        self.host_access.setChecked(stack.host_access)
        self.update_policy.show_policy(stack.update_policy)
        archived = " (archived)" if stack.archived_at else ""
        self.title.setText(f"{stack.name} — revision {stack.current_revision}{archived}")
        self.archive_button.setText("Unarchive" if stack.archived_at else "Archive")
        self._show_details(stack)
        if rev is not None and self.unsaved.dirty and self._editing_id == stack.id and \
                self.editor.toPlainText() != rev.compose_yaml:
            # Saved elsewhere meanwhile (another window): the edits here are not lost.
            self._mark_unsaved(True)
            self.message.show_warning(
                f"Revision {rev.number} of {stack.name} was saved elsewhere meanwhile. Your "
                "unsaved changes stay here: Save makes them the next revision.",
                actions=[(f"Discard mine, show revision {rev.number}", self._discard_edits)])
        elif rev is not None:
            self.editor.blockSignals(True)
            self.editor.setPlainText(rev.compose_yaml)
            self.editor.blockSignals(False)
            self.variables.blockSignals(True)
            self.variables.set_spec(list(rev.variables))
            self.variables.blockSignals(False)
            self._editing_id = stack.id
            self.unsaved.mark_clean()
            self._validate()
        self.revisions_model.reset(self.store.revisions)
        self._enable_revision_actions()
        self.diff_view.clear()
        pos = self.model.position(stack.id)
        shown = (self.proxy.mapFromSource(self.model.index(pos, 0)) if pos is not None
                 else QModelIndex())
        if shown.isValid() and self.table.currentIndex().row() != shown.row():
            self.table.selectionModel().setCurrentIndex(
                shown,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)

    def _enable(self, on: bool, *, creating: bool = False) -> None:
        for b in (self.deploy_button, self.duplicate_button, self.archive_button,
                  self.export_button, self.host_access, self.update_policy):
            b.setEnabled(on and not creating)
        self._enable_revision_actions()
        self.save_button.setEnabled(on or creating)
        self.editor.setReadOnly(not (on or creating))
        for edit in (self.name_edit, self.description_edit, self.tags_edit):
            edit.setReadOnly(not (on or creating))

    def _enable_revision_actions(self) -> None:
        """Diff and Restore need a chosen revision (Diff: one other than the current,
        or two; Restore: exactly one)."""
        numbers = self._selected_numbers() if self.store.selected is not None else []
        current = self.store.revision.number if self.store.revision else 0
        self.diff_button.setEnabled(len(numbers) == 2
                                    or (len(numbers) == 1 and numbers != [current]))
        self.restore_button.setEnabled(len(numbers) == 1 and numbers != [current])

    def _show_report(self, report: ComposeReport) -> None:
        errors = self.compose_pane.show_report(report)
        self.save_button.setEnabled(not errors and (self.store.selected is not None
                                                    or self._creating))

    def select_stack(self, stack_id: uuid.UUID) -> None:
        self.store.select(stack_id)


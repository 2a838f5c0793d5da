"""``AdoptDialog``: take a Compose project that runs outside WindFlow over as a stack —
its name, and whether the first revision is the project's compose file (as it is on the
target) or what its containers run (when the files are gone, several, or name paths
relative to their folder). Nothing on the target changes."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QButtonGroup, QRadioButton, QVBoxLayout, QWidget

from ...domain.adopt import AdoptSource, FilesUnreadableError, UnmanagedProject
from ...domain.words import plural
from ...stores.adopt import AdoptStore
from ..widgets.forms import Field, FormDialog, line_edit


class AdoptDialog(FormDialog):
    """Accepted once the stack and its deployment record exist."""

    def __init__(self, store: AdoptStore, project: UnmanagedProject,
                 parent: QWidget | None = None) -> None:
        files = ", ".join(project.config_files) or "no compose file named by its containers"
        super().__init__(
            store, title="Adopt a Compose project", heading=f"Adopt {project.name}",
            blurb=f"{plural(len(project.containers), 'container')} started from {files}. "
                  "WindFlow records them as a stack and a deployment; no container is "
                  "recreated. A later deploy from WindFlow keeps the project's name.",
            submit_text="Adopt", busy_text="Adopting…", parent=parent)
        self.store = store
        self.project = project
        self.name = line_edit("Stack name")
        self.name.setText(project.name)
        self.name_field = self.add_field("Stack &name:", self.name)
        self.from_files = QRadioButton("From its compose &file and .env on the target")
        self.from_files.setAccessibleName("From the compose file")
        self.from_files.setToolTip("The stack's text is the file's; its .env gives the "
                                   "values that run")
        self.from_engine = QRadioButton("From the &engine: what its containers run")
        self.from_engine.setAccessibleName("From the engine")
        self.from_engine.setToolTip("When the files are gone or unreadable, the project "
                                    "was started from several files, or they name paths "
                                    "relative to their folder")
        group = QButtonGroup(self)
        group.addButton(self.from_files)
        group.addButton(self.from_engine)
        usable = len(project.config_files) == 1
        (self.from_files if usable else self.from_engine).setChecked(True)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.from_files)
        column.addWidget(self.from_engine)
        self.form.addRow("Take:", box)

    @property
    def source(self) -> AdoptSource:
        return AdoptSource.FILES if self.from_files.isChecked() else AdoptSource.ENGINE

    def validate_field(self, field: Field) -> bool:
        problem = None if self.name.text().strip() else "give the stack a name"
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        return self.validate_field(self.name_field)

    def start(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = self.store.adopt(self.project.name, self.name.text().strip(),
                                                   self.source)
        return task

    def failed(self, code: str, message: str) -> None:
        super().failed(code, message)
        if self.source is AdoptSource.FILES and code == FilesUnreadableError.code:
            self.from_engine.setChecked(True)  # the way out the message names

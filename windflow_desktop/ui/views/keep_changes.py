"""``KeepChangesButton``: where drift is shown (the dashboard's "Changed by hand" card), a
"Keep changes…" menu of the drifted deployments; choosing one asks, then adopts what runs
in its project now as a new revision of its stack (``AdoptStore.keep``)."""

from __future__ import annotations

import uuid

from PySide6.QtWidgets import QMenu, QMessageBox, QPushButton, QWidget

from ...domain.containers import Drift
from ...stores.adopt import Adopted, AdoptStore
from ...stores.updates import DriftStore
from ..widgets.list_tools import confirm
from ..widgets.message_bar import MessageBar


class KeepChangesButton(QPushButton):
    def __init__(self, drift: DriftStore, adopt: AdoptStore, messages: MessageBar,
                 parent: QWidget | None = None) -> None:
        super().__init__("Keep changes…", parent)
        self.drift = drift
        self.adopt = adopt
        self.messages = messages
        self.confirm_box: QMessageBox | None = None
        self.setAccessibleName("Keep changes made by hand")
        self.setToolTip("Make what runs now in a project changed by hand the new revision "
                        "of its stack")
        self.menu_ = QMenu(self)
        self.menu_.setAccessibleName("Deployments changed by hand")
        self.setMenu(self.menu_)
        messages.bind(adopt)
        drift.sig_results_changed.connect(self.refill)
        adopt.sig_kept.connect(self._kept)
        self.refill()

    def refill(self) -> None:
        self.menu_.clear()
        found = [d for _t, d in self.drift.findings()]
        for drifted in sorted(found, key=lambda d: d.stack_name or d.project):
            action = self.menu_.addAction(f"{drifted.stack_name or drifted.project}: "
                                          f"{drifted.differences[0]}")
            action.triggered.connect(lambda _c=False, d=drifted: self.ask(d))
        self.setVisible(bool(found) and self.adopt.can_keep)

    def ask(self, drifted: Drift) -> None:
        deployment_id: uuid.UUID = drifted.deployment_id
        self.confirm_box = confirm(
            self, title="Keep the changes", button="Keep",
            text=f"Keep what runs now in {drifted.project} as a new revision of "
                 f"{drifted.stack_name or 'its stack'}?",
            detail="\n".join(drifted.differences[:8]) + "\n\nNothing on the target "
                   "changes; the next deploy starts from the new revision.",
            then=lambda: self.adopt.keep(deployment_id))

    def _kept(self, kept: Adopted) -> None:
        self.messages.show_success(f"{kept.stack_name}: what runs in {kept.project} is now "
                                   f"revision {kept.revision}", timeout_ms=10000)
        self.drift.check_now()

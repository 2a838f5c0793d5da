"""The stack's update policy choice on the Stacks page: what happens when a newer image
stands behind a tag its deployments run (the page connects it to its store)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from ...domain.enums import UpdatePolicy

CHOICES = (
    (UpdatePolicy.NOTIFY, "Tell me"),
    (UpdatePolicy.AUTO, "Update automatically, one target at a time"),
    (UpdatePolicy.IGNORE, "Ignore"),
)


class UpdatePolicyChoice(QComboBox):
    """``policy`` / ``show(policy)``; emits ``activated`` when someone picks one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for policy, words in CHOICES:
            self.addItem(words, policy.value)
        self.setAccessibleName("When an image has an update")
        self.setToolTip(
            "When a newer image stands behind a tag this stack's deployments run: tell you "
            "(dashboard and notification), update it automatically — redeploy with pull on "
            "one target after the other, stopping at the first failure, which gets its old "
            "image back — or say nothing. Automatic updates act as the person who chose "
            "them (it takes stacks:write to choose)")
        self.setEnabled(False)

    @property
    def policy(self) -> UpdatePolicy:
        return UpdatePolicy(self.currentData())

    def show_policy(self, policy: UpdatePolicy) -> None:
        self.blockSignals(True)
        self.setCurrentIndex(max(0, self.findData(UpdatePolicy(policy).value)))
        self.blockSignals(False)

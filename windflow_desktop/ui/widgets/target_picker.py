"""The target chooser of the pages that work on one target (Containers, Disk): the
targets by name, the id (as text) as item data, the choice kept across reloads."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox

from ...domain.enums import TargetStatus
from ...domain.models import Target


def refill_targets(combo: QComboBox, targets: Sequence[Target]) -> int | None:
    """Put ``targets`` in ``combo`` (quietly: no change signal) keeping the chosen one.
    None: nothing changed; else the index of the kept choice, -1 when it is gone or there
    was none. (Item data as str: a uuid.UUID round-trips through Qt but findData misses
    it.)"""
    current = combo.currentData()
    wanted = [(t.name, str(t.id)) for t in sorted(targets, key=lambda t: t.name.lower())]
    present = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    if wanted == present:
        return None
    combo.blockSignals(True)
    combo.clear()
    for name, target_id in wanted:
        combo.addItem(name, target_id)
    index = combo.findData(current) if current is not None else -1
    combo.setCurrentIndex(index)
    combo.blockSignals(False)
    return index


def first_online(combo: QComboBox, targets: Sequence[Target]) -> int:
    """The index of the first target that is online (the first one when none is)."""
    online = [str(t.id) for t in targets if t.status is TargetStatus.ONLINE]
    return min((combo.findData(i) for i in online), default=0)

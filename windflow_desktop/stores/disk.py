"""``DiskStore``: the images, volumes and networks of one chosen target for the Disk page
— listed with what uses them, one removed, and a prune that is previewed first (what
goes, the bytes it frees, what is kept and why) and reports the bytes it freed.

The reading follows the events (``apply_events``): an image, volume or network removed
or pruned on the chosen target, a container removed there, or a deployment that finished
there (from this window or another) reload it once ``RELOAD_DEBOUNCE_S`` after the last
of a burst.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.containers import DiskKind, DiskUsage, PrunePlan, PruneResult
from ..domain.events import DeploymentFinished, DiskCleaned, DockerObjectActed, Event
from ..domain.identity import Principal
from ..domain.permissions import CONTAINERS_MANAGE, PermissionChecker
from ..services.protocols import DiskApi
from .base import Debounced, OrganizationStore, about_target
from .session import SessionStore

__all__ = ["DiskKind", "DiskStore", "DiskUsage", "PrunePlan", "PruneResult"]

RELOAD_DEBOUNCE_S = 0.3
# Events after which a target's images, volumes or networks (or who uses them) changed.
_CHANGING: dict[str, Any] = {
    DeploymentFinished.TYPE: DeploymentFinished,
    "container.removed": DockerObjectActed,
    **{t: DockerObjectActed for t in DockerObjectActed.TYPES if t.startswith("image.")},
    **dict.fromkeys(DiskCleaned.TYPES, DiskCleaned)}


class DiskStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_usage_changed(): ``usage`` was read again (or the target changed: None).
    sig_preview_ready(object): a ``PrunePlan`` asked for with ``preview``.
    sig_pruned(object): the ``PruneResult`` of a ``prune``.
    sig_removed(str, str): one item was removed (the ``DiskKind`` value, its name).
    """

    sig_usage_changed = Signal()
    sig_preview_ready = Signal(object)
    sig_pruned = Signal(object)
    sig_removed = Signal(str, str)

    def __init__(self, service: DiskApi, session: SessionStore,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.target_id: uuid.UUID | None = None
        self.usage: DiskUsage | None = None
        self._reload = Debounced(RELOAD_DEBOUNCE_S, self._reload_now)
        self._follow(session)

    @property
    def can_manage(self) -> bool:
        """Whether the signed-in user may remove and prune (``containers:manage``)."""
        p = self._session.principal
        return p is not None and PermissionChecker(p).has_permission(CONTAINERS_MANAGE)

    def _switch(self, principal: Principal | None) -> None:
        # Another user or organization: the page chooses a target of theirs again.
        self.target_id = None
        self.usage = None
        self.sig_usage_changed.emit()

    # -- actions (each returns the tracked task) ------------------------------------------

    def select_target(self, target_id: uuid.UUID | None) -> Any:
        if target_id != self.target_id:
            self.target_id = target_id
            self.usage = None
            self.sig_usage_changed.emit()
        return self.load()

    def load(self) -> Any:
        async def act() -> DiskUsage | None:
            target_id = self.target_id
            if target_id is None:
                return None
            usage = await self._service.usage(self._require(), target_id)
            if target_id == self.target_id:
                self.usage = usage
                self.sig_usage_changed.emit()
                self.sig_changed.emit()
            return usage

        return self.run("load", act)

    def remove(self, kind: DiskKind, ref: str, *, name: str = "", force: bool = False) -> Any:
        """Remove one image (id or tag), volume (name) or network (id or name); ``name``
        is how the item reads in ``sig_removed``."""
        async def act() -> None:
            target_id = self.target_id
            if target_id is None:
                return
            await self._service.remove(self._require(), target_id, kind, ref, force=force)
            self.sig_removed.emit(kind.value, name or ref)
            await self.load()

        return self.run(f"remove:{kind.value}:{ref}", act)

    def preview(self, kind: DiskKind) -> Any:
        """What pruning ``kind`` would do now (``sig_preview_ready``); nothing is removed."""
        async def act() -> PrunePlan | None:
            target_id = self.target_id
            if target_id is None:
                return None
            plan = await self._service.prune_preview(self._require(), target_id, kind)
            if target_id == self.target_id:
                self.sig_preview_ready.emit(plan)
            return plan

        return self.run(f"preview:{kind.value}", act)

    def prune(self, kind: DiskKind) -> Any:
        async def act() -> PruneResult | None:
            target_id = self.target_id
            if target_id is None:
                return None
            result = await self._service.prune(self._require(), target_id, kind)
            self.sig_pruned.emit(result)
            await self.load()
            return result

        return self.run(f"prune:{kind.value}", act)

    # -- live -------------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """An ``EventBridge`` batch: reload (debounced) when the chosen target changed."""
        if not self._closed and about_target(batch, self._session.principal,
                                             self.target_id, _CHANGING):
            self._reload.poke()

    def _reload_now(self) -> None:
        if not self._closed and self.target_id is not None:
            self.load()

    async def shutdown(self) -> None:
        self._reload.cancel()
        await super().shutdown()

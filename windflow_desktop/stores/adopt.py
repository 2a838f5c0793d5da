"""``AdoptStore``: what the chosen target runs outside WindFlow (Compose projects and
plain containers) for the Containers page, adopting one of those projects as a stack,
and keeping a drifted deployment's changes made by hand as a new revision."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.adopt import Adopted, AdoptSource, Unmanaged
from ..domain.identity import Principal
from ..domain.permissions import DEPLOYMENTS_CREATE, DEPLOYMENTS_MANAGE, PermissionChecker
from ..services.protocols import AdoptApi
from .base import OrganizationStore

__all__ = ["AdoptSource", "AdoptStore", "Adopted", "Unmanaged"]


class AdoptStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_unmanaged_changed(): ``unmanaged`` was reloaded (or the target changed).
    sig_adopted(object): an ``Adopted`` — a project was adopted.
    sig_kept(object): an ``Adopted`` — a drifted deployment's change was kept.
    """

    sig_unmanaged_changed = Signal()
    sig_adopted = Signal(object)
    sig_kept = Signal(object)

    def __init__(self, service: AdoptApi, session: Any,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.target_id: uuid.UUID | None = None
        self.unmanaged: Unmanaged | None = None
        self._follow(session)

    @property
    def can_adopt(self) -> bool:
        """Whether the signed-in user may adopt a project (operator and up)."""
        p = self._session.principal
        return p is not None and PermissionChecker(p).has_permission(DEPLOYMENTS_CREATE)

    @property
    def can_keep(self) -> bool:
        p = self._session.principal
        return p is not None and PermissionChecker(p).has_permission(DEPLOYMENTS_MANAGE)

    def _switch(self, principal: Principal | None) -> None:
        self.unmanaged = None
        self.sig_unmanaged_changed.emit()
        if principal is not None and self.target_id is not None:
            self.refresh()

    # -- actions ----------------------------------------------------------------------------

    def select_target(self, target_id: uuid.UUID | None) -> Any:
        if target_id != self.target_id:
            self.target_id = target_id
            self.unmanaged = None
            self.sig_unmanaged_changed.emit()
        return self.refresh()

    def refresh(self) -> Any:
        async def act() -> Unmanaged | None:
            target_id = self.target_id
            if target_id is None:
                return None
            found = await self._service.discover(self._require(), target_id)
            if target_id == self.target_id:
                self.unmanaged = found
                self.sig_unmanaged_changed.emit()
                self.sig_changed.emit()
            return found

        return self.run("refresh", act)

    def adopt(self, project: str, stack_name: str,
              source: AdoptSource = AdoptSource.FILES) -> Any:
        async def act() -> Adopted | None:
            target_id = self.target_id
            if target_id is None:
                return None
            adopted = await self._service.adopt(self._require(), target_id, project,
                                                stack_name, source)
            self.sig_adopted.emit(adopted)
            self.refresh()
            return adopted

        return self.run("adopt", act)

    def keep(self, deployment_id: uuid.UUID) -> Any:
        async def act() -> Adopted:
            kept = await self._service.keep(self._require(), deployment_id)
            self.sig_kept.emit(kept)
            return kept

        return self.run("keep", act)

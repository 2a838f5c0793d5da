"""``ContainerDetailStore``: one container in detail for the Containers page's detail
panel — image, command, ports, mounts, restart policy, health log and environment, as
``ContainersApi.inspect`` gives them (secret values masked by the service: the values
of the target's deployments' secrets, and of variables whose names say secret).

It reads again when the container is acted on (``container.*`` events for it, from this
window or another), ``RELOAD_DEBOUNCE_S`` after the last of a burst.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.containers import ContainerDetail, container_detail
from ..domain.events import DockerObjectActed, Event
from ..domain.identity import Principal
from ..services.protocols import ContainersApi
from .base import Debounced, OrganizationStore
from .session import SessionStore

__all__ = ["ContainerDetail", "ContainerDetailStore"]

RELOAD_DEBOUNCE_S = 0.3
# A removed container is not read again: the page's selection goes with it.
_CONTAINER_EVENTS = frozenset(t for t in DockerObjectActed.TYPES
                              if t.startswith("container.") and t != "container.removed")


class ContainerDetailStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_detail_changed(): ``detail`` was read (or the container was cleared: None).
    """

    sig_detail_changed = Signal()

    def __init__(self, service: ContainersApi, session: SessionStore,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.target_id: uuid.UUID | None = None
        self.container_id: str | None = None
        self.detail: ContainerDetail | None = None
        self._reload = Debounced(RELOAD_DEBOUNCE_S, self._reload_now)
        self._follow(session)

    def _switch(self, principal: Principal | None) -> None:
        self.show(None, None)

    def show(self, target_id: uuid.UUID | None, container_id: str | None) -> Any:
        """Read this container (None: show none)."""
        if (target_id, container_id) != (self.target_id, self.container_id):
            self.target_id, self.container_id = target_id, container_id
            self.detail = None
            self.sig_detail_changed.emit()
        if target_id is None or container_id is None:
            task = self._actions.get("load")
            if task is not None:
                task.cancel()
            return None
        return self.load()

    def load(self) -> Any:
        async def act() -> ContainerDetail | None:
            target_id, container_id = self.target_id, self.container_id
            if target_id is None or container_id is None:
                return None
            info = await self._service.inspect(self._require(), target_id, container_id)
            detail = container_detail(info)
            if (target_id, container_id) == (self.target_id, self.container_id):
                self.detail = detail
                self.sig_detail_changed.emit()
            return detail

        return self.run("load", act)

    # -- live -------------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """An ``EventBridge`` batch: read again when the shown container was acted on."""
        principal = self._session.principal
        if self._closed or principal is None or self.container_id is None:
            return
        org, target = str(principal.organization_id), str(self.target_id)
        if any(e.event_type in _CONTAINER_EVENTS and e.organization_id == org
               and self.container_id.startswith(e.aggregate_id or "-")
               and DockerObjectActed.from_event(e).target_id == target for e in batch):
            self._reload.poke()

    def _reload_now(self) -> None:
        if not self._closed and self.container_id is not None:
            self.load()

    async def shutdown(self) -> None:
        self._reload.cancel()
        await super().shutdown()

"""``ContainersStore``: the containers of one chosen target for the Containers page —
list (grouped by compose project), start/stop/restart/remove, and a live log follow whose
lines reach the page in batches (at most one ``sig_log_lines`` per ``LOG_FLUSH_MS``).

The list follows the events (``apply_events``): a deployment that finished or was
stopped, started or removed on the chosen target, and a container acted on there (from
this window or another), reload it once ``RELOAD_DEBOUNCE_S`` after the last of a burst.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.containers import ContainerInfo
from ..domain.events import DeploymentFinished, DeploymentStatusChanged, DockerObjectActed, Event
from ..domain.identity import Principal
from ..services.protocols import ContainersApi
from .base import Debounced, OrganizationStore, about_target
from .session import SessionStore

__all__ = ["ContainerInfo", "ContainersStore"]

LOG_FLUSH_MS = 50
RELOAD_DEBOUNCE_S = 0.3
# Events after which the containers of their target are not what they were.
_CHANGING: dict[str, Any] = {
    DeploymentFinished.TYPE: DeploymentFinished,
    DeploymentStatusChanged.TYPE: DeploymentStatusChanged,
    **dict.fromkeys(DockerObjectActed.TYPES - {"image.pulled", "image.removed"},
                    DockerObjectActed)}
ACTIONS = ("start", "stop", "restart", "remove")


class ContainersStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_containers_changed(): ``containers`` was reloaded (or the target changed).
    sig_log_started(str): following the logs of this container id began.
    sig_log_lines(object): a batch (list of str) of new log lines.
    sig_log_ended(str): the follow ended (cancelled, container gone, or its output ended).
    """

    sig_containers_changed = Signal()
    sig_log_started = Signal(str)
    sig_log_lines = Signal(object)
    sig_log_ended = Signal(str)

    def __init__(self, service: ContainersApi, session: SessionStore,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._session = session
        self.target_id: uuid.UUID | None = None
        self._containers: list[ContainerInfo] = []
        self._pending: list[str] = []
        self._flush: asyncio.TimerHandle | None = None
        self._reload = Debounced(RELOAD_DEBOUNCE_S, self._reload_now)
        self.following: str | None = None
        self._follow(session)

    @property
    def containers(self) -> tuple[ContainerInfo, ...]:
        return tuple(self._containers)

    def by_project(self) -> OrderedDict[str, list[ContainerInfo]]:
        """Containers grouped by compose project ("" = not in a project), sorted."""
        groups: OrderedDict[str, list[ContainerInfo]] = OrderedDict()
        for c in sorted(self._containers, key=lambda c: (c.project == "", c.project, c.name)):
            groups.setdefault(c.project, []).append(c)
        return groups

    def _switch(self, principal: Principal | None) -> None:
        if principal is None:
            self.stop_logs()
            self.target_id = None
            self._containers = []
            self.sig_containers_changed.emit()

    # -- actions ----------------------------------------------------------------------------

    def select_target(self, target_id: uuid.UUID | None) -> Any:
        if target_id != self.target_id:
            self.stop_logs()
            self._containers = []
            self.target_id = target_id
            self.sig_containers_changed.emit()
        return self.refresh()

    def refresh(self) -> Any:
        async def act() -> tuple[ContainerInfo, ...]:
            if self.target_id is None:
                return ()
            target_id = self.target_id
            listed = await self._service.list_containers(self._require(), target_id)
            if target_id == self.target_id:
                self._containers = listed
                self.sig_containers_changed.emit()
                self.sig_changed.emit()
            return tuple(listed)

        return self.run("refresh", act)

    def act(self, container_id: str, action: str) -> Any:
        if action not in ACTIONS:
            raise ValueError(f"unknown container action {action!r}")

        async def go() -> None:
            if self.target_id is None:
                return
            principal, target_id = self._require(), self.target_id
            if action == "start":
                await self._service.start(principal, target_id, container_id)
            elif action == "stop":
                await self._service.stop(principal, target_id, container_id)
            elif action == "restart":
                await self._service.restart(principal, target_id, container_id)
            else:
                await self._service.remove(principal, target_id, container_id, force=True)
            await self.refresh()

        return self.run(f"{action}:{container_id}", go)

    def follow_logs(self, container_id: str, *, tail: int = 200) -> Any:
        """Follow one container's logs (a new follow replaces the previous one)."""
        async def act() -> None:
            if self.target_id is None:
                return
            principal, target_id = self._require(), self.target_id
            self.following = container_id
            self.sig_log_started.emit(container_id)
            try:
                async for line in self._service.follow_logs(principal, target_id,
                                                            container_id, tail=tail):
                    self._queue(line)
            finally:
                self._flush_now()
                if self.following == container_id:
                    self.following = None
                if not self._closed:
                    self.sig_log_ended.emit(container_id)

        return self.run("logs", act)

    def stop_logs(self) -> None:
        task = self._actions.get("logs")
        if task is not None:
            task.cancel()

    # -- live -------------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """An ``EventBridge`` batch: reload (debounced) when the chosen target changed."""
        if not self._closed and about_target(batch, self._session.principal,
                                             self.target_id, _CHANGING):
            self._reload.poke()  # a burst (a rollout, a stop of many) is one reload

    def _reload_now(self) -> None:
        if not self._closed and self.target_id is not None:
            self.refresh()

    async def shutdown(self) -> None:
        self._reload.cancel()
        await super().shutdown()

    # -- helpers ----------------------------------------------------------------------------

    def _queue(self, line: str) -> None:
        self._pending.append(line)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(
                LOG_FLUSH_MS / 1000, self._flush_now)

    def _flush_now(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._pending and not self._closed:
            batch, self._pending = self._pending, []
            self.sig_log_lines.emit(batch)


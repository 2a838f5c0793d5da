"""``UpdatesStore``: which images the organization's targets run have a newer image behind
their tag — checked for every target once the fleet is known, then every
``interval_s`` (6 hours by default), and on demand (``check_now``). New findings are
announced once (``sig_found``); a target that cannot be checked says why."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.containers import ImageUpdate, UpdateState
from ..domain.errors import WindFlowError
from ..domain.identity import Principal
from ..services.health_loop import HealthMonitor
from ..services.protocols import UpdatesApi
from .base import OrganizationStore
from .targets import TargetsStore


class UpdatesStore(OrganizationStore):
    """Signals: sig_updates_changed(): ``lines``/``problems`` were replaced;
    sig_found(int, str): this many images have an update not announced before, and the
    first one's name."""

    sig_updates_changed = Signal()
    sig_found = Signal(int, str)

    def __init__(self, session: Any, service: UpdatesApi, targets: TargetsStore, *,
                 interval_s: float | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._targets = targets
        self.lines: dict[uuid.UUID, tuple[ImageUpdate, ...]] = {}
        self.problems: dict[uuid.UUID, str] = {}
        self._announced: set[tuple[uuid.UUID, str, str]] = set()
        self._loop = (HealthMonitor(self._round, interval_s=interval_s, name="updates")
                      if interval_s is not None else None)
        targets.sig_targets_reset.connect(self._fleet_known)
        self._follow(session)

    @property
    def available(self) -> list[tuple[uuid.UUID, ImageUpdate]]:
        return [(target_id, line) for target_id, lines in self.lines.items()
                for line in lines if line.state is UpdateState.AVAILABLE]

    def _switch(self, principal: Principal | None) -> None:
        self.lines, self.problems, self._announced = {}, {}, set()
        self.sig_updates_changed.emit()

    def _fleet_known(self) -> None:
        if self._loop is not None and self._targets.loaded and not self._loop.running:
            self._loop.start()

    def check_now(self) -> Any:
        return self.run("check", self._check)

    async def _round(self) -> None:
        if self.signed_in and self._targets.loaded:
            await self._check()

    async def _check(self) -> int:
        principal = self._require()
        lines: dict[uuid.UUID, tuple[ImageUpdate, ...]] = {}
        problems: dict[uuid.UUID, str] = {}
        for target in self._targets.targets:
            try:
                lines[target.id] = await self._service.check(principal, target.id)
            except WindFlowError as exc:
                problems[target.id] = exc.message
        if self._session.principal is not principal:
            return 0  # signed out or switched meanwhile: this round is someone else's
        self.lines, self.problems = lines, problems
        self.sig_updates_changed.emit()
        fresh = [(t, line) for t, line in self.available
                 if (t, line.image, line.latest) not in self._announced]
        self._announced.update((t, line.image, line.latest) for t, line in fresh)
        if fresh:
            self.sig_found.emit(len(fresh), fresh[0][1].image)
        return len(self.available)

    async def shutdown(self) -> None:
        if self._loop is not None:
            await self._loop.stop()
        await super().shutdown()

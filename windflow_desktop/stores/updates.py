"""``UpdatesStore``: which images the organization's targets run have a newer image behind
their tag (checked once the fleet is known, every 6 hours by default, and on demand)."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from typing import Any

from PySide6.QtCore import Signal

from ..domain.containers import Drift, ImageUpdate, UpdateState
from ..domain.identity import Principal
from ..domain.updates import AutoOutcome, AutoUpdate
from ..services.protocols import DriftApi, UpdatesApi, UpdateSweepsApi
from .sweeps import TargetSweep
from .targets import TargetsStore


class UpdatesStore(TargetSweep[ImageUpdate]):
    """With ``sweeps``, a round is one ``UpdateSweepsApi`` call: the stacks' update
    policies applied (``ignore`` stacks' images left out, ``auto`` stacks updated); on a
    server the scheduled rounds read the server's latest round.

    Signals: sig_automatic(int, str, bool): this many automatic updates not told before,
    the words of the first failed one (else the first one), whether one failed."""

    sig_automatic = Signal(int, str, bool)

    def __init__(self, session: Any, service: UpdatesApi, targets: TargetsStore, *,
                 interval_s: float | None = None,
                 sweeps: UpdateSweepsApi | None = None) -> None:
        self.automatic: tuple[AutoUpdate, ...] = ()
        self._told: set[Hashable] = set()
        super().__init__(session, service.check, targets, interval_s=interval_s,
                         name="updates")
        self._sweeps = sweeps

    def _switch(self, principal: Principal | None) -> None:
        self.automatic, self._told = (), set()
        super()._switch(principal)

    async def _gather(self, principal: Principal, fresh: bool
                      ) -> tuple[dict[uuid.UUID, tuple[ImageUpdate, ...]], dict[uuid.UUID, str]]:
        if self._sweeps is None:
            return await super()._gather(principal, fresh)
        ask = self._sweeps.sweep if fresh else self._sweeps.latest
        sweep = await ask(principal)
        if self._session.principal is principal:
            self._tell(sweep.automatic)
        return dict(sweep.results), dict(sweep.problems)

    def _tell(self, automatic: tuple[AutoUpdate, ...]) -> None:
        self.automatic = automatic
        new = [a for a in automatic
               if (a.deployment_id, a.outcome, a.new_deployment_id) not in self._told]
        self._told.update((a.deployment_id, a.outcome, a.new_deployment_id) for a in new)
        if not new:
            return
        failed = [a for a in new if a.outcome is not AutoOutcome.UPDATED]
        self.sig_automatic.emit(len(new), str((failed or new)[0]), bool(failed))

    @property
    def available(self) -> list[tuple[uuid.UUID, ImageUpdate]]:
        return self.findings()

    def findings(self) -> list[tuple[uuid.UUID, ImageUpdate]]:
        return [(t, line) for t, lines in self.results.items() for line in lines
                if line.state is UpdateState.AVAILABLE]

    def identity(self, target_id: uuid.UUID, result: ImageUpdate) -> Hashable:
        return (target_id, result.image, result.latest)

    def words(self, result: ImageUpdate) -> str:
        return result.image


class DriftStore(TargetSweep[Drift]):
    """Deployments whose project was changed by hand (checked every few minutes)."""

    def __init__(self, session: Any, service: DriftApi, targets: TargetsStore, *,
                 interval_s: float | None = None) -> None:
        super().__init__(session, service.check, targets, interval_s=interval_s,
                         name="drift")

    def findings(self) -> list[tuple[uuid.UUID, Drift]]:
        return [(t, d) for t, ds in self.results.items() for d in ds if d.drifted]

    def identity(self, target_id: uuid.UUID, result: Drift) -> Hashable:
        return (result.deployment_id, result.differences)

    def words(self, result: Drift) -> str:
        return f"{result.stack_name or result.project}: {result.differences[0]}"

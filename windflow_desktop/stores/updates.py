"""``UpdatesStore``: which images the organization's targets run have a newer image behind
their tag (checked once the fleet is known, every 6 hours by default, and on demand)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import Signal

from ..domain.containers import Drift, ImageUpdate, UpdateState
from ..domain.enums import TargetStatus
from ..domain.events import DeploymentFinished, DeploymentStatusChanged, Event
from ..domain.identity import Principal
from ..domain.targets import HealthResult
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

    async def _gather(self, principal: Principal, fresh: bool,
                      only: Collection[uuid.UUID] | None = None
                      ) -> tuple[dict[uuid.UUID, tuple[ImageUpdate, ...]], dict[uuid.UUID, str]]:
        if self._sweeps is None:
            return await super()._gather(principal, fresh, only)
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
    """Deployments whose project was changed by hand: checked after every health round
    on the targets found online (so a change is seen within one round), on the target of
    a deployment that ended or changed status (a "put back" clears its badge at once),
    every ``interval_s`` on every target, and on demand. Only targets that hold a WindFlow
    deployment cost an engine call (the service asks the engine for nothing else)."""

    def __init__(self, session: Any, service: DriftApi, targets: TargetsStore, *,
                 interval_s: float | None = None) -> None:
        super().__init__(session, service.check, targets, interval_s=interval_s,
                         name="drift")
        targets.sig_health_checked.connect(self._after_health)

    def by_deployment(self) -> dict[uuid.UUID, Drift]:
        """The drifted deployments' differences, by deployment id."""
        return {d.deployment_id: d for _t, d in self.findings()}

    def check_targets(self, target_ids: Iterable[uuid.UUID]) -> Any:
        """Check these targets now (the others keep their results)."""
        ids = frozenset(target_ids)
        if not ids or self._closed or not self.signed_in or not self._targets.loaded:
            return None
        return self.run(f"check:{sorted(map(str, ids))}", lambda: self._check(only=ids))

    def _after_health(self, results: Sequence[HealthResult]) -> None:
        self.check_targets(r.target_id for r in results if r.status is TargetStatus.ONLINE)

    def apply_events(self, events: Sequence[Event]) -> None:
        """A deployment ended or changed status: its target is checked again."""
        touched = set()
        for event in events:
            if event.event_type == DeploymentFinished.TYPE:
                target = DeploymentFinished.from_event(event).target_id
            elif event.event_type == DeploymentStatusChanged.TYPE:
                target = DeploymentStatusChanged.from_event(event).target_id
            else:
                continue
            with contextlib.suppress(ValueError):
                touched.add(uuid.UUID(target))
        known = {t.id for t in self._targets.targets}
        self.check_targets(touched & known)

    def findings(self) -> list[tuple[uuid.UUID, Drift]]:
        return [(t, d) for t, ds in self.results.items() for d in ds if d.drifted]

    def identity(self, target_id: uuid.UUID, result: Drift) -> Hashable:
        return (result.deployment_id, result.differences)

    def words(self, result: Drift) -> str:
        return f"{result.stack_name or result.project}: {result.differences[0]}"

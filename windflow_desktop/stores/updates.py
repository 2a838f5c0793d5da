"""``UpdatesStore``: which images the organization's targets run have a newer image behind
their tag (checked once the fleet is known, every 6 hours by default, and on demand)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from ..domain.containers import Drift, ImageUpdate, UpdateState
from ..domain.enums import TargetStatus
from ..domain.events import DeploymentFinished, DeploymentStatusChanged, Event
from ..domain.targets import HealthResult
from ..services.protocols import DriftApi, UpdatesApi
from .sweeps import TargetSweep
from .targets import TargetsStore


class UpdatesStore(TargetSweep[ImageUpdate]):
    def __init__(self, session: Any, service: UpdatesApi, targets: TargetsStore, *,
                 interval_s: float | None = None) -> None:
        super().__init__(session, service.check, targets, interval_s=interval_s,
                         name="updates")

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
        if not ids or not self.signed_in or not self._targets.loaded:
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

"""``UpdatesStore``: which images the organization's targets run have a newer image behind
their tag (checked once the fleet is known, every 6 hours by default, and on demand)."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from typing import Any

from ..domain.containers import Drift, ImageUpdate, UpdateState
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

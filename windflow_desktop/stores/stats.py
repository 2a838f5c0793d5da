"""``StatsStore``: the live CPU, memory, network and block I/O of one target's running
containers, for as long as a page shows them.

The Containers page calls ``watch(target_id)`` when it is shown (and when its target
changes) and ``stop()`` when it is hidden: nothing streams from the engine while nobody
looks. Each batch of the service (one a second, the containers with a new sample) is
added to a short history per container (``HISTORY`` samples, five minutes) and announced
with one ``sig_stats_updated`` — the page then updates only the cells of those rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.containers import ContainerStats
from ..domain.identity import Principal
from ..services.protocols import StatsApi
from .base import OrganizationStore
from .session import SessionStore

__all__ = ["HISTORY", "ContainerStats", "StatsStore"]

HISTORY = 300  # samples kept per container: five minutes at one a second


class StatsStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_stats_updated(object): a batch arrived; the dict ``{container id: ContainerStats}``
        of the containers with a new sample (their history already holds it).
    sig_streaming_changed(bool): whether stats stream from a target now.
    """

    sig_stats_updated = Signal(object)
    sig_streaming_changed = Signal(bool)

    def __init__(self, service: StatsApi, session: SessionStore, *,
                 interval_s: float = 1.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.interval_s = interval_s
        self.target_id: uuid.UUID | None = None
        self._history: dict[str, deque[ContainerStats]] = {}
        self._follow(session)

    @property
    def streaming(self) -> bool:
        return "stats" in self._actions

    def history(self, container_id: str) -> Sequence[ContainerStats]:
        """The container's samples, oldest first (empty when none came yet)."""
        return self._history.get(container_id, ())

    def latest(self, container_id: str) -> ContainerStats | None:
        samples = self._history.get(container_id)
        return samples[-1] if samples else None

    # -- actions ----------------------------------------------------------------------------

    def watch(self, target_id: uuid.UUID | None) -> Any:
        """Stream the target's stats (replacing a previous watch; another target's
        history is dropped). None: stop."""
        if target_id is None:
            self.stop()
            return None
        if target_id == self.target_id and self.streaming:
            return self._actions["stats"]
        if target_id != self.target_id:
            self._history.clear()
            self.target_id = target_id

        async def act() -> None:
            self.sig_streaming_changed.emit(True)
            try:
                async for batch in self._service.watch(self._require(), target_id,
                                                       interval_s=self.interval_s):
                    self.apply_batch(batch)
            finally:
                # Replaced by a watch of another target: that one is streaming now.
                if not self._closed and self._actions.get("stats") is asyncio.current_task():
                    self.sig_streaming_changed.emit(False)

        return self.run("stats", act)

    def stop(self) -> None:
        """Stop streaming (the page was hidden); the history stays for a quick return."""
        task = self._actions.get("stats")
        if task is not None:
            task.cancel()

    def apply_batch(self, batch: Mapping[str, ContainerStats]) -> None:
        """Add a batch to the histories and announce it (the service's batches come
        here; a benchmark may feed synthetic ones the same way)."""
        if self._closed or not batch:
            return
        for container_id, sample in batch.items():
            samples = self._history.get(container_id)
            if samples is None:
                samples = self._history[container_id] = deque(maxlen=HISTORY)
            samples.append(sample)
        self.sig_stats_updated.emit(dict(batch))

    def _switch(self, principal: Principal | None) -> None:
        self.target_id = None
        self._history.clear()

"""``TargetSweep``: a check run on every target of the organization — once the fleet is
known, every ``interval_s`` and on demand (``check_now``) — with its results by target,
the targets that could not be checked and why, and each new finding announced once
(``sig_found``). ``UpdatesStore`` (images with a newer one behind their tag) and
``DriftStore`` (deployments whose project was changed by hand) are two of them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal

from ..domain.errors import WindFlowError
from ..domain.identity import Principal
from ..services.health_loop import HealthMonitor
from .base import OrganizationStore
from .targets import TargetsStore

R = TypeVar("R")
Check = Callable[[Principal, uuid.UUID], Awaitable[Sequence[R]]]


class TargetSweep(OrganizationStore, Generic[R]):
    """Signals: sig_results_changed(): ``results``/``problems`` were replaced;
    sig_found(int, str): this many findings not announced before, the first one's words."""

    sig_results_changed = Signal()
    sig_found = Signal(int, str)

    def __init__(self, session: Any, check: Check[R], targets: TargetsStore, *,
                 interval_s: float | None = None, name: str = "sweep",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._check_one = check
        self._targets = targets
        self.results: dict[uuid.UUID, tuple[R, ...]] = {}
        self.problems: dict[uuid.UUID, str] = {}
        self._announced: set[Hashable] = set()
        self._begun = 0  # checks started so far
        self._shown: dict[uuid.UUID, int] = {}  # target -> the check its entry comes from
        self._loop = (HealthMonitor(self._round, interval_s=interval_s, name=name)
                      if interval_s is not None else None)
        targets.sig_targets_reset.connect(self._fleet_known)
        self._follow(session)

    # -- what a kind of sweep says -------------------------------------------------------

    def findings(self) -> list[tuple[uuid.UUID, R]]:
        """The results worth telling about (all of them by default)."""
        return [(t, r) for t, rs in self.results.items() for r in rs]

    def identity(self, target_id: uuid.UUID, result: R) -> Hashable:
        """What makes a finding the same one next time (it is told once)."""
        return (target_id, repr(result))

    def words(self, result: R) -> str:
        return str(result)

    # -- running -------------------------------------------------------------------------

    def _switch(self, principal: Principal | None) -> None:
        self.results, self.problems, self._announced = {}, {}, set()
        self._shown = {}
        self.sig_results_changed.emit()

    def _fleet_known(self) -> None:
        if self._loop is not None and self._targets.loaded and not self._loop.running:
            self._loop.start()

    def check_now(self) -> Any:
        return self.run("check", self._check)

    async def _round(self) -> None:
        if self.signed_in and self._targets.loaded:
            await self._check(now=False)

    async def _gather(self, principal: Principal, fresh: bool,
                      only: Collection[uuid.UUID] | None = None
                      ) -> tuple[dict[uuid.UUID, tuple[R, ...]], dict[uuid.UUID, str]]:
        """One round's results and problems, of every target or ``only`` these (the others
        keep their results); ``fresh``: asked for now, not on the schedule — a kind of
        sweep may read the schedule's latest round instead."""
        fleet = {t.id for t in self._targets.targets}
        kept = fleet - set(only) if only is not None else set()
        results = {t: r for t, r in self.results.items() if t in kept}
        problems = {t: p for t, p in self.problems.items() if t in kept}
        for target in self._targets.targets:
            if target.id in kept:
                continue
            try:
                results[target.id] = tuple(await self._check_one(principal, target.id))
            except WindFlowError as exc:
                problems[target.id] = exc.message
        return results, problems

    async def _check(self, now: bool = True,
                     only: Collection[uuid.UUID] | None = None) -> int:
        """Check every target, or ``only`` these (the others keep their results). Checks
        overlap (a round, one after a health round, one asked for): a target that a check
        begun later has answered for already keeps that answer — this one read an older
        state (a drift seen before "Keep changes" committed must not come back after)."""
        principal = self._require()
        self._begun += 1
        check = self._begun
        results, problems = await self._gather(principal, now, only)
        if self._session.principal is not principal:
            return 0  # signed out or switched meanwhile: this round is someone else's
        self.results, self.problems = self._merged(check, only, results, problems)
        self.sig_results_changed.emit()
        found = self.findings()
        fresh = [(t, r) for t, r in found if self.identity(t, r) not in self._announced]
        self._announced.update(self.identity(t, r) for t, r in fresh)
        if fresh:
            self.sig_found.emit(len(fresh), self.words(fresh[0][1]))
        return len(found)

    def _merged(self, check: int, only: Collection[uuid.UUID] | None,
                results: dict[uuid.UUID, tuple[R, ...]], problems: dict[uuid.UUID, str]
                ) -> tuple[dict[uuid.UUID, tuple[R, ...]], dict[uuid.UUID, str]]:
        """``check``'s answers, except for the targets it did not check or a later check
        answered for: those keep what is shown now."""
        for target in set(results) | set(problems) | set(self.results) | set(self.problems):
            if (only is not None and target not in only) or \
                    self._shown.get(target, 0) > check:
                results.pop(target, None)
                problems.pop(target, None)
                if target in self.results:
                    results[target] = self.results[target]
                if target in self.problems:
                    problems[target] = self.problems[target]
            elif target in results or target in problems:
                self._shown[target] = check
        return results, problems

    async def shutdown(self) -> None:
        if self._loop is not None:
            # For good: the targets store shuts down after this one, and a load of its
            # that ends meanwhile says "the fleet is known" again.
            await self._loop.close()
        await super().shutdown()

"""``TargetsStore``: the targets of the signed-in organization for the Targets page and
the add/edit wizard — load, add, edit, delete, connection test (live steps), scan one or
all (with progress), capabilities, and the health rounds (``health_interval_s``: the
store checks the fleet once it is loaded, then every interval, until it shuts down).

Every call goes through ``TargetService`` with the session's principal. Changes reach the
page as precise batches (``sig_targets_applied(upserts, removed_ids)``); a long action
(test, scan) can be cancelled with ``cancel(action)``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.errors import WindFlowError
from ..domain.events import Event
from ..domain.identity import Principal
from ..domain.models import Target, TargetCapability
from ..domain.permissions import TARGETS_SCAN, TARGETS_WRITE, PermissionChecker
from ..domain.targets import ConnectionReport, HealthResult, ScanOutcome, StepResult, TargetSpec
from ..services.health_loop import HealthMonitor
from ..services.protocols import TargetsApi
from .base import OrganizationStore
from .session import SessionStore

__all__ = ["ConnectionReport", "StepResult", "TargetSpec", "TargetsStore"]

log = logging.getLogger("windflow.stores.targets")


class TargetsStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_targets_reset(): ``targets`` was replaced (loaded, signed out).
    sig_targets_applied(object, object): upserted ``Target`` rows (tuple), removed ids (tuple).
    sig_capabilities_loaded(object): the capabilities of this target id were (re)loaded.
    sig_test_step(object): a ``StepResult`` of the running connection test.
    sig_test_finished(object): the ``ConnectionReport`` of the test.
    sig_scan_progress(int, int): targets scanned so far, of how many.
    sig_saved(object): the ``Target`` the wizard saved (created or edited).
    sig_health_checked(object): a health round ended (tuple of ``HealthResult``); the
        drift check follows it on the targets found online.
    """

    sig_targets_reset = Signal()
    sig_targets_applied = Signal(object, object)
    sig_capabilities_loaded = Signal(object)
    sig_test_step = Signal(object)
    sig_test_finished = Signal(object)
    sig_scan_progress = Signal(int, int)
    sig_saved = Signal(object)
    sig_health_checked = Signal(object)

    def __init__(self, service: TargetsApi, session: SessionStore,
                 parent: QObject | None = None, *,
                 health_interval_s: float | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._health = (None if health_interval_s is None
                        else HealthMonitor(self.health_round, interval_s=health_interval_s))
        self._session = session
        self._targets: dict[uuid.UUID, Target] = {}
        self._capabilities: dict[uuid.UUID, tuple[TargetCapability, ...]] = {}
        self.last_report: ConnectionReport | None = None
        self.loaded = False
        self._follow(session)

    # -- state ---------------------------------------------------------------------------

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(self._targets.values())

    def target(self, target_id: uuid.UUID) -> Target | None:
        return self._targets.get(target_id)

    def capabilities(self, target_id: uuid.UUID) -> tuple[TargetCapability, ...]:
        return self._capabilities.get(target_id, ())

    def engine_version(self, target_id: uuid.UUID) -> str:
        docker = next((c for c in self.capabilities(target_id) if c.kind == "docker"), None)
        return docker.version if docker is not None and docker.available else ""

    @property
    def can_write(self) -> bool:
        p = self._session.principal
        return p is not None and PermissionChecker(p).has_permission(TARGETS_WRITE)

    @property
    def can_scan(self) -> bool:
        p = self._session.principal
        return p is not None and PermissionChecker(p).has_permission(TARGETS_SCAN)

    # -- live updates --------------------------------------------------------------------

    def apply_events(self, events: Sequence[Event]) -> None:
        """Reload the targets touched by a batch of ``target.*`` events (any window)."""
        if not self.loaded:
            return
        touched = {e.aggregate_id for e in events if e.aggregate_type == "target"}
        if touched:
            self.load()

    def _switch(self, principal: Principal | None) -> None:
        if principal is None:
            self._targets.clear()
            self._capabilities.clear()
            self.loaded = False
            self.sig_targets_reset.emit()
        else:
            self.load()

    # -- actions (each returns the tracked task) ------------------------------------------

    def load(self) -> Any:
        async def act() -> tuple[Target, ...]:
            page = await self._service.list_targets(self._require())
            fresh = {t.id: t for t in page.items}
            removed = tuple(i for i in self._targets if i not in fresh)
            first = not self.loaded
            self._targets = fresh
            self.loaded = True
            if first:
                self.sig_targets_reset.emit()
                self._check_health_now()
            else:
                self.sig_targets_applied.emit(tuple(fresh.values()), removed)
            self.sig_changed.emit()
            await self._load_all_capabilities()
            return self.targets

        return self.run("load", act)

    async def _load_all_capabilities(self) -> None:
        principal = self._require()
        for target_id in list(self._targets):
            try:
                caps = await self._service.capabilities(principal, target_id)
            except WindFlowError:
                continue
            self._capabilities[target_id] = tuple(caps)
        if self._targets:
            self.sig_targets_applied.emit(self.targets, ())

    def load_capabilities(self, target_id: uuid.UUID) -> Any:
        async def act() -> tuple[TargetCapability, ...]:
            caps = tuple(await self._service.capabilities(self._require(), target_id))
            self._capabilities[target_id] = caps
            self.sig_capabilities_loaded.emit(target_id)
            return caps

        return self.run(f"capabilities:{target_id}", act)

    def save(self, spec: TargetSpec, secret: str | None = None, *,
             target_id: uuid.UUID | None = None, keep_secret: bool = True) -> Any:
        """Create (no ``target_id``) or edit a target; an empty ``secret`` with
        ``keep_secret`` keeps the stored one."""
        async def act() -> Target:
            principal = self._require()
            if target_id is None:
                target = await self._service.create_target(principal, spec, secret)
            elif secret or not keep_secret:
                target = await self._service.update_target(principal, target_id, spec,
                                                           secret or None)
            else:
                target = await self._service.update_target(principal, target_id, spec)
            self._upsert(target)
            self.sig_saved.emit(target)
            return target

        return self.run("save", act)

    def delete(self, target_id: uuid.UUID) -> Any:
        async def act() -> None:
            await self._service.delete_target(self._require(), target_id)
            self._targets.pop(target_id, None)
            self._capabilities.pop(target_id, None)
            self.sig_targets_applied.emit((), (target_id,))
            self.sig_changed.emit()

        return self.run(f"delete:{target_id}", act)

    def forget_host_key(self, target_id: uuid.UUID) -> Any:
        """Drop the trusted host key (after a legitimate key change); the next connection
        asks about the new key. The task's result says whether a key was stored."""

        async def act() -> bool:
            return await self._service.forget_host_key(self._require(), target_id)

        return self.run(f"forget_host_key:{target_id}", act)

    def test(self, target_id: uuid.UUID) -> Any:
        async def act() -> ConnectionReport:
            report = await self._service.test_connection(
                self._require(), target_id, on_step=self.sig_test_step.emit)
            self.last_report = report
            self.sig_test_finished.emit(report)
            await self._refresh(target_id)
            return report

        return self.run("test", act)

    def test_draft(self, spec: TargetSpec, secret: str | None = None, *,
                   target_id: uuid.UUID | None = None) -> Any:
        async def act() -> ConnectionReport:
            report = await self._service.test_draft(
                self._require(), spec, secret or None, on_step=self.sig_test_step.emit,
                target_id=target_id)
            self.last_report = report
            self.sig_test_finished.emit(report)
            return report

        return self.run("test", act)

    def scan(self, target_id: uuid.UUID) -> Any:
        async def act() -> ScanOutcome | None:
            self.sig_scan_progress.emit(0, 1)
            try:
                outcome = await self._service.scan(self._require(), target_id)
            finally:
                await self._refresh(target_id)
                self.sig_scan_progress.emit(1, 1)
            self._capabilities[target_id] = outcome.capabilities
            self.sig_capabilities_loaded.emit(target_id)
            self._upsert(outcome.target)
            return outcome

        return self.run("scan", act)

    def scan_all(self) -> Any:
        async def act() -> dict[uuid.UUID, ScanOutcome | WindFlowError]:
            principal = self._require()
            ids = list(self._targets)
            done = 0
            self.sig_scan_progress.emit(0, len(ids))
            results: dict[uuid.UUID, ScanOutcome | WindFlowError] = {}

            async def one(target_id: uuid.UUID) -> None:
                nonlocal done
                try:
                    outcome = await self._service.scan(principal, target_id)
                    results[target_id] = outcome
                    self._capabilities[target_id] = outcome.capabilities
                    self._upsert(outcome.target)
                except WindFlowError as exc:
                    results[target_id] = exc
                    await self._refresh(target_id)
                done += 1
                self.sig_scan_progress.emit(done, len(ids))

            semaphore = asyncio.Semaphore(self._service.concurrency)

            async def bounded(target_id: uuid.UUID) -> None:
                async with semaphore:
                    await one(target_id)

            await asyncio.gather(*(bounded(i) for i in ids))
            failed = [e for e in results.values() if isinstance(e, WindFlowError)]
            if failed:
                raise WindFlowError(
                    f"{len(failed)} of {len(ids)} targets could not be scanned: "
                    f"{failed[0].message}", code=failed[0].code)
            return results

        return self.run("scan", act)

    def _check_health_now(self) -> None:
        """The fleet is known (after sign-in): check it now, then every interval."""
        if self._health is not None:
            if self._health.running:
                self._health.run_now()
            else:
                self._health.start()

    async def shutdown(self) -> None:
        if self._health is not None:
            await self._health.close()  # a load ending meanwhile cannot start it again
        await super().shutdown()

    async def health_round(self) -> list[HealthResult]:
        """One health check of every target (the ``HealthMonitor``'s round)."""
        principal = self._session.principal
        if principal is None or not self.loaded:
            return []
        results = await self._service.check_health(principal)
        changed = [r for r in results if r.changed or r.last_seen is not None]
        for result in changed:
            await self._refresh(result.target_id)
        if self._session.principal is principal:
            self.sig_health_checked.emit(tuple(results))
        return results

    def is_running(self, action: str) -> bool:
        return action in self._actions

    def cancel(self, action: str) -> None:
        task = self._actions.get(action)
        if task is not None:
            task.cancel()

    # -- helpers ---------------------------------------------------------------------------

    async def _refresh(self, target_id: uuid.UUID) -> None:
        try:
            target = await self._service.get_target(self._require(), target_id)
        except WindFlowError:
            return
        self._upsert(target)

    def _upsert(self, target: Target) -> None:
        self._targets[target.id] = target
        self.sig_targets_applied.emit((target,), ())
        self.sig_changed.emit()

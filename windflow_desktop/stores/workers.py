"""``WorkersStore`` (server mode, Settings → Workers): the job queue's report — the
workers alive with their last heartbeat, the jobs queued / running / dead, the
organization's dead jobs with why they died — loaded again every few seconds while the
page is shown (``follow``/``unfollow``), and the retry of a dead job. Offered to those
with ``deployments:manage`` (operator and up) where deployments run on workers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..domain.identity import Principal
from ..domain.permissions import DEPLOYMENTS_MANAGE, PermissionChecker
from ..domain.workers import WorkersReport
from ..services.protocols import WorkersApi
from .base import OrganizationStore

REFRESH_S = 3.0


class WorkersStore(OrganizationStore):
    """Signals: sig_report_changed(): ``report`` was replaced; sig_allowed_changed(bool):
    whether the signed-in user may see the workers (and retry dead jobs) changed."""

    sig_report_changed = Signal()
    sig_allowed_changed = Signal(bool)

    def __init__(self, session: Any, service: WorkersApi, *, refresh_s: float = REFRESH_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.report = WorkersReport(queue=False)
        self._timer = QTimer(self)
        self._timer.setInterval(int(refresh_s * 1000))
        self._timer.timeout.connect(self.load)
        self._follow(session)

    @property
    def allowed(self) -> bool:
        """Whether the Workers page is offered: deployments run on workers here and the
        signed-in user holds ``deployments:manage``."""
        p = self._session.principal
        return (self._service.available and p is not None
                and PermissionChecker(p).has_permission(DEPLOYMENTS_MANAGE))

    def _switch(self, principal: Principal | None) -> None:
        self.report = WorkersReport(queue=False)
        self.sig_report_changed.emit()
        self.sig_allowed_changed.emit(self.allowed)

    def follow(self) -> None:
        """Load now and every few seconds until ``unfollow`` (the page is shown)."""
        self._timer.start()
        self.load()

    def unfollow(self) -> None:
        self._timer.stop()

    def load(self) -> Any:
        if not self.allowed:
            return None

        async def act() -> WorkersReport:
            self.report = await self._service.report(self._require())
            self.sig_report_changed.emit()
            return self.report

        return self.run("load", act)

    def retry(self, dead_id: str) -> Any:
        async def act() -> None:
            await self._service.retry(self._require(), dead_id)
            await self.load()

        return self.run("retry", act)

    async def shutdown(self) -> None:
        self._timer.stop()
        await super().shutdown()

"""``DeploymentsStore``: deployments newest first in keyset pages (the table fetches more
as it scrolls), a status/stack/target filter, the selected deployment's stages and log,
the deploy/lifecycle actions, and live updates from ``EventBridge`` batches.

Live rows change without I/O: ``deployment.stage_changed``/``finished``/``status_changed``
carry the new status and stage (``deployment_events`` reads what a batch changes). Log
lines arrive in ``deployment.log`` events with their seq; a gap (lines published while
this window was busy or before it opened) is filled from storage, so the log never misses
a line. The log is paged: a selection reads its newest ``LOG_PAGE`` lines,
``load_older_log`` the page before the oldest shown, and a gap longer than a page starts
over from the newest page.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain import deployment_flow as flow
from ..domain.enums import DeploymentStatus
from ..domain.errors import NotFoundError, WindFlowError
from ..domain.events import Event
from ..domain.identity import Principal
from ..domain.models import (
    Deployment,
    DeploymentStageRecord,
    DeployPreview,
    PreviousValues,
    Target,
)
from ..domain.paging import PageRequest
from ..domain.permissions import DEPLOYMENTS_CREATE, PermissionChecker
from ..services.protocols import DeploymentsApi
from .base import OrganizationStore
from .deployment_events import LogRow, read_batch
from .session import SessionStore
from .updates import DriftStore

PAGE_SIZE = 200
LOG_PAGE = 2000
KEEP: Any = object()

TargetLister = Callable[[Principal], Awaitable[Sequence[Target]]]


class DeploymentsStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_rows_reset(): ``rows`` replaced (new query).
    sig_rows_appended(object): an older page (tuple of ``Deployment``), goes last.
    sig_rows_changed(object): live upserts (tuple of ``Deployment``); new ones go first.
    sig_detail_changed(): ``detail``/``stages`` of the selected deployment changed.
    sig_log_reset(): the selected deployment's log starts over (another selection).
    sig_log_appended(object): new lines of the selected deployment (list of
        ``DeploymentLog``), in seq order.
    sig_log_prepended(object): an older page of the selected deployment's log (list of
        ``DeploymentLog``, in seq order), goes before the lines shown.
    sig_log_older_changed(bool): whether older lines than those shown are stored.
    sig_targets_changed(): ``targets`` reloaded.
    sig_preview_ready(object): a ``DeployPreview`` (checks + ``compose config`` text).
    sig_previous_values(object, object, object): (stack id, target id, ``PreviousValues``)
        the next deployment of that stack on that target starts from.

    What a row may do next and how it words its status come from the flow table
    (``domain/deployment_flow``) with the holder of its stack on its target, which this
    store keeps (``holders``, reloaded with the rows and after every status change).

    Whether a deployment's project was changed by hand comes from the ``DriftStore``
    (given as ``drift``; no scan of its own): ``drift_of`` says the differences, a change
    repaints exactly the rows (and the detail) whose drift changed, and ``put_back`` is
    the redeploy of the same revision (for those who may deploy).
    """

    sig_rows_reset = Signal()
    sig_rows_appended = Signal(object)
    sig_rows_changed = Signal(object)
    sig_detail_changed = Signal()
    sig_log_reset = Signal()
    sig_log_appended = Signal(object)
    sig_log_prepended = Signal(object)
    sig_log_older_changed = Signal(bool)
    sig_targets_changed = Signal()
    sig_preview_ready = Signal(object)
    sig_previous_values = Signal(object, object, object)

    def __init__(self, session: SessionStore, service: DeploymentsApi,
                 list_targets: TargetLister, *, page_size: int = PAGE_SIZE,
                 drift: DriftStore | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._service = service
        self._list_targets = list_targets
        self._page_size = page_size
        self.rows: list[Deployment] = []
        self._cursor: str | None = None
        self._loaded = False
        self.status_filter: tuple[DeploymentStatus, ...] = ()
        self.stack_filter: uuid.UUID | None = None
        self.target_filter: uuid.UUID | None = None
        self.search = ""
        self.detail: Deployment | None = None
        self.stages: list[DeploymentStageRecord] = []
        self.log_seq = 0  # the newest line shown
        self.log_first_seq = 0  # the oldest line shown
        self.log_has_older = False
        self.targets: list[Target] = []
        self.holders: dict[tuple[uuid.UUID, uuid.UUID], Deployment] = {}
        self._drift_store = drift
        self._drifts: dict[uuid.UUID, tuple[str, ...]] = {}
        if drift is not None:
            drift.sig_results_changed.connect(self._drift_changed)
        self._follow(session)

    def _switch(self, principal: Principal | None) -> None:
        self._drifts = {}
        self.rows, self._cursor, self._loaded = [], None, False
        self.detail, self.stages = None, []
        self._reset_log()
        self.holders = {}
        self.targets = []  # another organization's targets must never be offered
        self.sig_rows_reset.emit()
        self.sig_detail_changed.emit()
        self.sig_targets_changed.emit()
        if principal is not None:
            self.load()

    def resync(self) -> None:
        """The live feed lost events (the server restarted, say): load the list again and
        the chosen deployment afresh — it stays chosen, and its log goes on from the last
        line shown: the lines written meanwhile are read from storage, each once, in
        order (more than a page of them: the newest page, as a catch-up does)."""
        chosen = self.detail
        if chosen is None or self._closed or self._session.principal is None:
            super().resync()
            return
        self.cancel_all()
        self.load()
        if self.targets:
            self.load_targets()

        async def act() -> int:
            p = self._require()
            try:
                detail = await self._service.get(p, chosen.id)
                stages = list(await self._service.stages(p, chosen.id))
            except NotFoundError:  # removed meanwhile
                if self._selected(chosen.id):
                    self.detail, self.stages = None, []
                    self._reset_log()
                    self.sig_detail_changed.emit()
                return 0
            if not self._selected(chosen.id):
                return 0
            self.detail, self.stages = detail, stages
            self.sig_detail_changed.emit()
            return await self._catch_up(chosen.id)

        self.run("select", act)

    # -- list ------------------------------------------------------------------------

    @property
    def has_more(self) -> bool:
        return self._loaded and self._cursor is not None

    def set_filter(self, *, status: Sequence[DeploymentStatus] | None = None,
                   stack_id: Any = KEEP, target_id: Any = KEEP,
                   search: str | None = None) -> Any:
        """Change some filters (``KEEP`` leaves one as it is) and reload."""
        if status is not None:
            self.status_filter = tuple(status)
        if stack_id is not KEEP:
            self.stack_filter = stack_id
        if target_id is not KEEP:
            self.target_filter = target_id
        if search is not None:
            self.search = search.strip()
        return self.load()

    def load(self) -> Any:
        pending = self._actions.get("fetch_more")
        if pending is not None:
            pending.cancel()

        async def act() -> int:
            page = await self._page(None)
            self.holders = await self._holders()
            self.rows = list(page.items)
            self._cursor = page.next_cursor
            self._loaded = True
            self.sig_rows_reset.emit()
            self.sig_changed.emit()
            return len(self.rows)

        return self.run("load", act)

    def fetch_more(self) -> Any:
        if not self.has_more or "fetch_more" in self._actions or "load" in self._actions:
            return None
        cursor = self._cursor

        async def act() -> int:
            page = await self._page(cursor)
            if cursor != self._cursor:
                return 0
            known = {d.id for d in self.rows}
            fresh = tuple(d for d in page.items if d.id not in known)
            self._cursor = page.next_cursor
            self.rows.extend(fresh)
            self.sig_rows_appended.emit(fresh)
            return len(fresh)

        return self.run("fetch_more", act)

    async def _page(self, after: str | None) -> Any:
        return await self._service.list_deployments(
            self._require(), PageRequest(self._page_size, after, search=self.search or None),
            status=list(self.status_filter) or None, stack_id=self.stack_filter,
            target_id=self.target_filter)

    # -- the flow: what a row may do next -------------------------------------------

    def standing(self, dep: Deployment) -> flow.Standing:
        return flow.standing(dep, self.holders.get((dep.stack_id, dep.target_id)))

    def allowed_actions(self, dep: Deployment) -> frozenset[flow.Action]:
        return flow.allowed(dep.status, self.standing(dep))

    def status_text(self, dep: Deployment) -> str:
        return flow.status_text(dep.status, self.standing(dep))

    async def _holders(self) -> dict[tuple[uuid.UUID, uuid.UUID], Deployment]:
        held = await self._service.current_deployments(self._require())
        return {(d.stack_id, d.target_id): d for d in held}

    def _reload_holders(self) -> Any:
        """Ask again which deployment holds each project (a status changed: a rolled-back
        or failed one gives the project back to the one before it), then repaint."""
        async def act() -> None:
            before = _holder_keys(self.holders)
            self.holders = await self._holders()
            if _holder_keys(self.holders) != before:
                self._holders_changed()

        return self.run("holders", act)

    def _holders_changed(self) -> None:
        if self.rows:
            self.sig_rows_changed.emit(tuple(self.rows))
        if self.detail is not None:
            self.sig_detail_changed.emit()

    def load_targets(self) -> Any:
        """Read the organization's targets (the deploy dialog's list); cleared when the
        user or the organization changes, reloaded when a target changes."""
        async def act() -> int:
            self.targets = list(await self._list_targets(self._require()))
            self.sig_targets_changed.emit()
            return len(self.targets)

        return self.run("load_targets", act)

    # -- drift: changed by hand since deployed --------------------------------------

    def drift_of(self, dep: Deployment) -> tuple[str, ...]:
        """How the project of ``dep`` differs from what it deployed, in words (none: it
        matches, or it is not the deployment that holds the project)."""
        return self._drifts.get(dep.id, ())

    @property
    def can_deploy(self) -> bool:
        p = self._session.principal
        return p is not None and PermissionChecker(p).has_permission(DEPLOYMENTS_CREATE)

    def can_put_back(self, dep: Deployment) -> bool:
        """A drifted deployment may be put back (redeployed as it was) by whoever may
        deploy, when the flow allows a redeploy."""
        return (bool(self.drift_of(dep)) and self.can_deploy
                and flow.Action.REDEPLOY in self.allowed_actions(dep))

    def put_back(self, deployment_id: uuid.UUID) -> Any:
        """Redeploy the same revision with the same values: Compose recreates what was
        changed and starts what was stopped; the drift check after it clears the badge."""
        return self.act_on("redeploy", deployment_id)

    def _drift_changed(self) -> None:
        assert self._drift_store is not None
        fresh = {i: d.differences for i, d in self._drift_store.by_deployment().items()}
        changed = {i for i in fresh.keys() | self._drifts.keys()
                   if fresh.get(i) != self._drifts.get(i)}
        self._drifts = fresh
        if not changed:
            return
        rows = tuple(d for d in self.rows if d.id in changed)
        if rows:
            self.sig_rows_changed.emit(rows)
        if self.detail is not None and self.detail.id in changed:
            self.sig_detail_changed.emit()

    # -- detail ----------------------------------------------------------------------

    def select(self, deployment_id: uuid.UUID | None) -> Any:
        self.detail, self.stages = None, []
        self._reset_log()
        self.sig_detail_changed.emit()
        if deployment_id is None:
            return None

        async def act() -> int:
            p = self._require()
            self.detail = await self._service.get(p, deployment_id)
            self.stages = list(await self._service.stages(p, deployment_id))
            self.sig_detail_changed.emit()
            return await self._load_newest(deployment_id)

        return self.run("select", act)

    def _reset_log(self) -> None:
        self.log_seq = self.log_first_seq = 0
        self.sig_log_reset.emit()
        self._set_has_older(False)

    def _set_has_older(self, value: bool) -> None:
        if value != self.log_has_older:
            self.log_has_older = value
            self.sig_log_older_changed.emit(value)

    def _selected(self, deployment_id: uuid.UUID) -> bool:
        return self.detail is not None and self.detail.id == deployment_id

    async def _load_newest(self, deployment_id: uuid.UUID) -> int:
        """The newest page of the log, in place of what is shown."""
        lines = list(await self._service.log_page(self._require(), deployment_id,
                                                  limit=LOG_PAGE))
        if not self._selected(deployment_id):
            return 0
        if self.log_seq:
            self._reset_log()
        if lines:
            self.log_first_seq, self.log_seq = lines[0].seq, lines[-1].seq
            self.sig_log_appended.emit(lines)
        self._set_has_older(len(lines) == LOG_PAGE)
        return len(lines)

    def load_older_log(self) -> Any:
        """The page of stored lines before the oldest shown (the view asks when scrolled
        to its top or with its "Load older" button)."""
        if self.detail is None or not self.log_has_older or "log_older" in self._actions:
            return None
        deployment_id, before = self.detail.id, self.log_first_seq

        async def act() -> int:
            lines = [x for x in await self._service.log_page(
                self._require(), deployment_id, before_seq=before, limit=LOG_PAGE)
                if x.seq < before]
            if not self._selected(deployment_id) or before != self.log_first_seq:
                return 0
            if lines:
                self.log_first_seq = lines[0].seq
                self.sig_log_prepended.emit(lines)
            self._set_has_older(len(lines) == LOG_PAGE)
            return len(lines)

        return self.run("log_older", act)

    async def _catch_up(self, deployment_id: uuid.UUID) -> int:
        """Read the stored lines after ``log_seq``; more than a page behind, start over
        from the newest page (older ones stay a scroll away)."""
        lines = await self._service.logs(self._require(), deployment_id,
                                         after_seq=self.log_seq, limit=LOG_PAGE)
        if not self._selected(deployment_id):
            return 0
        if len(lines) >= LOG_PAGE:
            return await self._load_newest(deployment_id)
        lines = [x for x in lines if x.seq > self.log_seq]
        if not lines:
            return 0
        self.log_seq = lines[-1].seq
        self.log_first_seq = self.log_first_seq or lines[0].seq
        self.sig_log_appended.emit(lines)
        return len(lines)

    # -- actions ---------------------------------------------------------------------

    def deploy(self, stack_id: uuid.UUID, target_ids: Sequence[uuid.UUID], *,
               variables: Mapping[str, str | None] | None = None,
               overrides: Mapping[uuid.UUID, Mapping[str, str | None]] | None = None,
               revision: int | None = None, parallel: int = 4,
               stop_on_failure: bool = False) -> Any:
        async def act() -> list[Deployment]:
            rollout = await self._service.deploy(
                self._require(), stack_id, target_ids, variables=variables, overrides=overrides,
                revision=revision, parallel=parallel, stop_on_failure=stop_on_failure)
            self._upsert(rollout.deployments)
            return rollout.deployments

        # One action per deploy: a second deploy must never cancel the first (a cancel
        # landing in its commit), so they are not "latest wins".
        return self.run(f"deploy:{uuid.uuid4()}", act)

    def preview(self, stack_id: uuid.UUID, target_id: uuid.UUID,
                variables: Mapping[str, str | None], revision: int | None = None) -> Any:
        async def act() -> DeployPreview:
            preview = await self._service.preview(self._require(), stack_id, target_id, variables,
                                                  revision)
            self.sig_preview_ready.emit(preview)
            return preview

        return self.run("preview", act)

    def load_previous_values(self, stack_id: uuid.UUID, target_id: uuid.UUID) -> Any:
        async def act() -> PreviousValues:
            values = await self._service.previous_values(self._require(), stack_id, target_id)
            self.sig_previous_values.emit(stack_id, target_id, values)
            return values

        return self.run("previous_values", act)

    def act_on(self, action: str, deployment_id: uuid.UUID, *, volumes: bool = False) -> Any:
        """``redeploy``, ``update`` (a redeploy pulling every image again), ``rollback``,
        ``cancel``, ``stop``, ``start`` or ``remove``."""
        async def act() -> Any:
            p, s = self._require(), self._service
            if action in ("redeploy", "update", "rollback"):
                rollout = await (s.rollback(p, deployment_id) if action == "rollback"
                                 else s.redeploy(p, deployment_id,
                                                 pull_images=action == "update"))
                self._upsert(rollout.deployments)
                return rollout.deployments
            if action == "cancel":
                return await s.cancel(p, deployment_id)
            if action == "stop":
                dep = await s.stop(p, deployment_id)
            elif action == "start":
                dep = await s.start(p, deployment_id)
            elif action == "remove":
                dep = await s.remove(p, deployment_id, volumes=volumes)
            else:
                raise ValueError(action)
            self._upsert([dep])
            return dep

        return self.run(f"{action}-{deployment_id}", act)

    # -- live ------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        if self._closed or self._session.principal is None:
            return
        selected = self.detail.id if self.detail is not None else None
        index = {d.id: d for d in self.rows}
        effect = read_batch(batch, str(self._session.principal.organization_id), index,
                            self.detail)
        if selected is not None and selected in effect.changed:
            self.detail = effect.changed[selected]
        if effect.changed:
            self._upsert([d for d in effect.changed.values() if d.id in index])
            if selected in effect.changed:
                self.run("stages", self._reload_stages)
        created = effect.created
        if created:
            self.run(f"created-{created[0]}", lambda: self._fetch_created(created))
        if effect.log_lines and selected is not None:
            self._append_live(selected, effect.log_lines)
        if effect.targets_changed and self.targets:  # a list someone shows: keep it current
            self.load_targets()

    def _append_live(self, dep_id: uuid.UUID, lines: list[LogRow]) -> None:
        lines.sort(key=lambda x: x.seq)
        fresh = [x for x in lines if x.seq > self.log_seq]
        if not fresh:
            return
        if fresh[0].seq != self.log_seq + 1:
            # A gap: read from storage (it holds every line) instead of guessing.
            self.run("catch_up", lambda: self._catch_up(dep_id))
            return
        self.log_seq = fresh[-1].seq
        self.log_first_seq = self.log_first_seq or fresh[0].seq
        self.sig_log_appended.emit(fresh)

    async def _reload_stages(self) -> None:
        if self.detail is None:
            return
        self.stages = list(await self._service.stages(self._require(), self.detail.id))
        self.sig_detail_changed.emit()

    async def _fetch_created(self, ids: list[uuid.UUID]) -> None:
        fresh = []
        for dep_id in ids:
            try:
                fresh.append(await self._service.get(self._require(), dep_id))
            except WindFlowError:
                continue
        self._upsert(fresh)

    def _upsert(self, deps: Sequence[Deployment]) -> None:
        if not deps:
            return
        index = {d.id: i for i, d in enumerate(self.rows)}
        new = []
        moved = False  # a status changed: which deployment holds its project may too
        for dep in deps:
            if dep.id in index:
                moved |= self.rows[index[dep.id]].status is not dep.status
                self.rows[index[dep.id]] = dep
            else:
                moved = True
                if self._matches(dep):
                    new.append(dep)
        self.rows[:0] = new
        self.sig_rows_changed.emit(tuple(deps))
        if moved:
            self._reload_holders()
        if self.detail is not None:
            for dep in deps:
                if dep.id == self.detail.id:
                    self.detail = dep
                    self.sig_detail_changed.emit()

    def _matches(self, dep: Deployment) -> bool:
        if self.status_filter and dep.status not in self.status_filter:
            return False
        if self.stack_filter and dep.stack_id != self.stack_filter:
            return False
        return not (self.target_filter and dep.target_id != self.target_filter)


def _holder_keys(holders: Mapping[tuple[uuid.UUID, uuid.UUID], Deployment]
                 ) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, DeploymentStatus]]:
    return {pair: (d.id, d.status) for pair, d in holders.items()}

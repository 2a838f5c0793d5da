"""``StacksStore``: the stacks list, the selected stack with its current revision and its
history, validation for the editor (parsing runs in a worker thread), and the stack
actions (create, save a revision, restore, diff, duplicate, archive, export, import, the
"needs host access" flag).
Live ``stack.*`` events update the one row they name."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.compose import ComposeReport
from ..domain.enums import UpdatePolicy
from ..domain.errors import NotFoundError, WindFlowError
from ..domain.events import Event
from ..domain.identity import Principal
from ..domain.models import RevisionDiff, Stack, StackRevision
from ..domain.paging import PageRequest
from ..services.protocols import StacksApi
from .base import OrganizationStore
from .session import SessionStore


@dataclass(frozen=True)
class StackDetails:
    """What the editor says about a stack besides its file: name, description, tags."""

    name: str
    description: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, stack: Stack) -> StackDetails:
        return cls(stack.name, stack.description, tuple(stack.tags))


class StacksStore(OrganizationStore):
    """Signals (besides those of ``Store``):
    sig_rows_reset(): ``rows`` was replaced.
    sig_row_changed(object): one ``Stack`` was added or changed (upsert).
    sig_row_removed(object): the id of a stack that left the list (archived/unarchived).
    sig_selected_changed(): ``selected``, ``revision`` or ``revisions`` changed.
    sig_validated(object): a ``ComposeReport`` for the editor's text.
    sig_diff_ready(object): a ``RevisionDiff``.
    sig_exported(str, str): (format, path) of a finished export to a file.
    """

    sig_rows_reset = Signal()
    sig_row_changed = Signal(object)
    sig_row_removed = Signal(object)
    sig_selected_changed = Signal()
    sig_validated = Signal(object)
    sig_diff_ready = Signal(object)
    sig_exported = Signal(str, str)

    def __init__(self, session: SessionStore, service: StacksApi,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._service = service
        self.rows: list[Stack] = []
        self.archived = False
        self.search = ""
        self.selected: Stack | None = None
        self.revision: StackRevision | None = None
        self.revisions: list[StackRevision] = []
        self.report: ComposeReport | None = None
        self._follow(session)

    def _switch(self, principal: Principal | None) -> None:
        self.rows, self.selected, self.revision, self.revisions = [], None, None, []
        self.sig_rows_reset.emit()
        self.sig_selected_changed.emit()
        if principal is not None:
            self.load()

    def resync(self) -> None:
        """The live feed lost events (the server restarted, say): load the list again and
        the chosen stack afresh — it stays chosen, and the editor keeps what was typed
        (the page tells a revision saved meanwhile apart from its unsaved text)."""
        chosen = self.selected
        if chosen is None or self._closed or self._session.principal is None:
            super().resync()
            return
        self.cancel_all()
        self.load()

        async def act() -> None:
            try:
                await self._reselect(chosen.id)
            except NotFoundError:  # removed meanwhile
                self.selected, self.revision, self.revisions = None, None, []
                self.sig_selected_changed.emit()

        self.run("select", act)

    # -- list ------------------------------------------------------------------------

    def load(self, *, archived: bool | None = None, search: str | None = None) -> Any:
        if archived is not None:
            self.archived = archived
        if search is not None:
            self.search = search.strip()

        async def act() -> int:
            rows: list[Stack] = []
            after: str | None = None
            while True:  # stacks are few; the list shows them all
                page = await self._service.list_stacks(
                    self._require(), PageRequest(500, after, search=self.search or None),
                    archived=self.archived)
                rows.extend(page.items)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            self.rows = rows
            self.sig_rows_reset.emit()
            self.sig_changed.emit()
            return len(rows)

        return self.run("load", act)

    def select(self, stack_id: uuid.UUID | None) -> Any:
        async def act() -> None:
            if stack_id is None:
                self.selected, self.revision, self.revisions = None, None, []
            else:
                await self._reselect(stack_id)
                return
            self.sig_selected_changed.emit()

        return self.run("select", act)

    # -- editor ----------------------------------------------------------------------

    def validate(self, compose_yaml: str, variables: Sequence[Mapping[str, Any]]) -> Any:
        """Latest wins: typing fast only validates the last text."""
        async def act() -> ComposeReport:
            self.report = await self._service.validate(compose_yaml, variables)
            self.sig_validated.emit(self.report)
            return self.report

        return self.run("validate", act)

    def create(self, *, name: str, compose_yaml: str, variables: Sequence[Mapping[str, Any]],
               description: str = "", tags: Sequence[str] = (), message: str = "") -> Any:
        async def act() -> Stack:
            stack, _ = await self._service.create_stack(
                self._require(), name=name, compose_yaml=compose_yaml, variables=variables,
                description=description, tags=tags, message=message)
            self._upsert(stack)
            await self._reselect(stack.id)
            return stack

        return self.run("create", act)

    def save(self, *, compose_yaml: str, variables: Sequence[Mapping[str, Any]],
             message: str, details: StackDetails | None = None) -> Any:
        """Save the selected stack: its name, description and tags when ``details``
        changed them, and a new revision when the file or the variables changed (or
        when nothing else did). Returns the new revision, or None."""
        stack, base = self.selected, self.revision

        async def act() -> StackRevision | None:
            if stack is None:
                raise WindFlowError("choose a stack first")
            p = self._require()
            renamed = details is not None and details != StackDetails.of(stack)
            if renamed and details is not None:
                self._upsert(await self._service.update_stack(
                    p, stack.id, name=details.name, description=details.description,
                    tags=details.tags))
            rev = None
            edited = base is None or compose_yaml != base.compose_yaml or \
                [dict(v) for v in variables] != [dict(v) for v in base.variables]
            if edited or not renamed:
                rev = await self._service.save_revision(
                    p, stack.id, compose_yaml=compose_yaml, variables=variables,
                    message=message, expected_revision=base.number if base else None)
            await self._reselect(stack.id)
            return rev

        return self.run("save", act)

    def set_host_access(self, on: bool) -> Any:
        """Set the selected stack's "needs host access" flag (``stacks:write``)."""
        stack = self.selected

        async def act() -> Stack | None:
            if stack is None:
                return None
            changed = await self._service.update_stack(self._require(), stack.id, host_access=on)
            await self._reselect(changed.id)
            return changed

        return self.run("host-access", act)

    def set_update_policy(self, policy: UpdatePolicy) -> Any:
        """Set the selected stack's update policy (``stacks:write``): notify, auto or
        ignore; automatic updates then act as the one who chose them."""
        stack = self.selected

        async def act() -> Stack | None:
            if stack is None:
                return None
            changed = await self._service.update_stack(self._require(), stack.id,
                                                       update_policy=policy)
            await self._reselect(changed.id)
            return changed

        return self.run("update-policy", act)

    def restore(self, number: int) -> Any:
        stack = self.selected

        async def act() -> StackRevision | None:
            if stack is None:
                return None
            rev = await self._service.restore(self._require(), stack.id, number)
            await self._reselect(stack.id)
            return rev

        return self.run("restore", act)

    def diff(self, old: int, new: int) -> Any:
        stack = self.selected

        async def act() -> RevisionDiff | None:
            if stack is None:
                return None
            result = await self._service.diff(self._require(), stack.id, old, new)
            self.sig_diff_ready.emit(result)
            return result

        return self.run("diff", act)

    def duplicate(self, name: str) -> Any:
        stack = self.selected

        async def act() -> Stack | None:
            if stack is None:
                return None
            copy = await self._service.duplicate(self._require(), stack.id, name)
            self._upsert(copy)
            await self._reselect(copy.id)
            return copy

        return self.run("duplicate", act)

    def set_archived(self, archived: bool) -> Any:
        stack = self.selected

        async def act() -> Stack | None:
            if stack is None:
                return None
            p = self._require()
            changed = await (self._service.archive(p, stack.id) if archived
                             else self._service.unarchive(p, stack.id))
            self._remove(changed.id)
            self.selected, self.revision, self.revisions = None, None, []
            self.sig_selected_changed.emit()
            return changed

        return self.run("archive", act)

    def import_file(self, path: str) -> Any:
        """Import from a file (its size checked, then read, in a worker thread)."""
        async def act() -> Stack:
            from ..services.stacks import read_import_file  # (its module is heavy)

            text = await asyncio.to_thread(read_import_file, path)
            stack = await self._service.import_stack(self._require(), text)
            self._upsert(stack)
            await self._reselect(stack.id)
            return stack

        return self.run("import", act)

    def export_file(self, path: str, fmt: str) -> Any:
        stack = self.selected

        async def act() -> str | None:
            if stack is None:
                return None
            text = await self._service.export_stack(self._require(), stack.id, fmt)
            await asyncio.to_thread(Path(path).write_text, text, encoding="utf-8")
            self.sig_exported.emit(fmt, path)
            return path

        return self.run("export", act)

    def import_text(self, text: str, name: str | None = None) -> Any:
        async def act() -> Stack:
            stack = await self._service.import_stack(self._require(), text, name=name)
            self._upsert(stack)
            await self._reselect(stack.id)
            return stack

        return self.run("import", act)

    # -- live ------------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """Refresh the rows named by ``stack.*`` events (one fetch per stack per batch)."""
        if self._closed or self._session.principal is None:
            return
        ids = {e.aggregate_id for e in batch if e.event_type.startswith("stack.")}
        if not ids:
            return

        async def act() -> None:
            p = self._require()
            for raw in ids:
                try:
                    stack = await self._service.get_stack(p, uuid.UUID(raw))
                except WindFlowError:
                    continue
                if (stack.archived_at is not None) != self.archived:
                    self._remove(stack.id)
                else:
                    self._upsert(stack)
                if self.selected is not None and self.selected.id == stack.id and (
                        self.revision is None
                        or self.revision.number != stack.current_revision):
                    await self._reselect(stack.id)

        self.run(f"live-{min(ids)}", act)

    # -- helpers -----------------------------------------------------------------------

    async def _reselect(self, stack_id: uuid.UUID) -> None:
        p = self._require()
        stack = await self._service.get_stack(p, stack_id)
        revision = await self._service.get_revision(p, stack_id)
        revisions = list((await self._service.revisions(p, stack_id, PageRequest(200))).items)
        # One consistent change: readers never see a new revision with the old history.
        self.selected, self.revision, self.revisions = stack, revision, revisions
        self._upsert(stack)
        self.sig_selected_changed.emit()

    def _upsert(self, stack: Stack) -> None:
        for i, row in enumerate(self.rows):
            if row.id == stack.id:
                self.rows[i] = stack
                break
        else:
            self.rows.append(stack)
        self.sig_row_changed.emit(stack)

    def _remove(self, stack_id: uuid.UUID) -> None:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r.id != stack_id]
        if len(self.rows) != before:
            self.sig_row_removed.emit(stack_id)

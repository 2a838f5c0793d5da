"""``Store``: the base of every view-model store (the desktop twin of a Pinia store).

A store owns state, announces changes with signals, and runs async actions on the
qasync loop. Each named action owns at most one task: starting it again cancels the
previous run (latest wins). Expected errors (``WindFlowError``) become ``sig_error``;
anything else is logged and re-raised to the crash handler by the task tracker.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from ..domain.errors import WindFlowError
from ..domain.events import Event
from ..domain.identity import Principal
from ..tasks import TaskTracker

T = TypeVar("T")
log = logging.getLogger("windflow.stores")


class Store(QObject):
    """Signals:
    sig_changed(): the store's state changed.
    sig_busy_changed(bool): whether any action is running.
    sig_error(str, str): an action failed with an expected error (code, message).
    """

    sig_changed = Signal()
    sig_busy_changed = Signal(bool)
    sig_error = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = TaskTracker(type(self).__name__)
        self._actions: dict[str, asyncio.Task[Any]] = {}
        # The expected error each finished task ended with (see ``error_of``).
        self._task_errors: weakref.WeakKeyDictionary[asyncio.Task[Any], tuple[str, str]] = (
            weakref.WeakKeyDictionary()
        )
        self._identity: tuple[Any, ...] | None = None  # see ``_identity_changed``
        self._closed = False

    @property
    def busy(self) -> bool:
        return bool(self._actions)

    def run(
        self, action: str, factory: Callable[[], Coroutine[Any, Any, T]]
    ) -> asyncio.Task[T | None]:
        """Start ``action`` (cancelling a previous run of the same action)."""
        previous = self._actions.pop(action, None)
        if previous is not None:
            previous.cancel()
        name = f"{type(self).__name__}.{action}"
        task = self._tasks.spawn(self._guard(action, factory), name=name)
        self._actions[action] = task
        task.add_done_callback(functools.partial(self._finished, action))
        if len(self._actions) == 1 and previous is None:
            self.sig_busy_changed.emit(True)
        return task

    async def _guard(self, action: str, factory: Callable[[], Coroutine[Any, Any, T]]) -> T | None:
        try:
            return await factory()
        except WindFlowError as exc:
            log.info("%s.%s: %s", type(self).__name__, action, exc)
            task = asyncio.current_task()
            if task is not None:
                self._task_errors[task] = (exc.code, exc.message)
            if not self._closed:
                self.sig_error.emit(exc.code, exc.message)
            return None

    def error_of(self, task: asyncio.Task[Any]) -> tuple[str, str] | None:
        """``(code, message)`` of the expected error ``task`` (an action of this store)
        ended with, or None (it succeeded, is still running, or is not ours)."""
        return self._task_errors.get(task)

    def cancel_all(self) -> None:
        """Cancel every running action (signed out: their results must not land);
        idempotent, and the store stays usable."""
        running, self._actions = list(self._actions.values()), {}
        for task in running:
            task.cancel()
        if running and not self._closed:
            self.sig_busy_changed.emit(False)

    def _identity_changed(self, principal: Any) -> bool:
        """Remember who is signed in (user and organization); True when that changed since
        the last call (signed out, another user or organization), False when the session
        only rotated its tokens. Stores call it from their session-change handler to
        ``cancel_all()`` so a result of the previous session never lands."""
        key = (principal.user_id, principal.organization_id) if principal is not None else None
        changed, self._identity = key != self._identity, key
        return changed

    def _finished(self, action: str, task: asyncio.Task[Any]) -> None:
        if self._actions.get(action) is task:
            del self._actions[action]
            if not self._actions and not self._closed:
                self.sig_busy_changed.emit(False)

    async def shutdown(self) -> None:
        """Cancel every action; idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._tasks.shutdown()
        self._actions.clear()


def about_target(batch: Sequence[Event], principal: Principal | None,
                 target_id: uuid.UUID | None, payloads: Mapping[str, Any]) -> bool:
    """Whether ``batch`` has an event of one of ``payloads``' types about ``target_id`` in
    the principal's organization (each payload class reads its event's ``target_id``)."""
    if principal is None or target_id is None:
        return False
    org, target = str(principal.organization_id), str(target_id)
    return any(e.event_type in payloads and e.organization_id == org
               and payloads[e.event_type].from_event(e).target_id == target for e in batch)


class Debounced:
    """Runs ``action`` once, ``delay_s`` after the last ``poke()`` of a burst (a prune's
    events, a rollout's): many events, one reload. ``cancel()`` at shutdown."""

    def __init__(self, delay_s: float, action: Callable[[], object]) -> None:
        self.delay_s = delay_s
        self._action = action
        self._handle: asyncio.TimerHandle | None = None

    def poke(self) -> None:
        self.cancel()
        self._handle = asyncio.get_running_loop().call_later(self.delay_s, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._action()


class OrganizationStore(Store):
    """A store of what the signed-in user sees in their organization.

    ``_follow(session)``, at the end of ``__init__``, binds it to the session: whenever the
    user or the organization changes (not when the tokens only rotate), its running
    actions are cancelled — a result of the previous session must never land — and
    ``_switch(principal)`` drops what it held and loads for the new principal (None:
    signed out). ``now``: switch at once if someone is signed in already.
    """

    _session: Any

    def _follow(self, session: Any, *, now: bool = False) -> None:
        self._session = session
        session.sig_session_changed.connect(self._on_session_changed)
        if now:
            self._on_session_changed()
        else:
            self._identity_changed(session.principal)

    def _require(self) -> Principal:
        principal: Principal = self._session.require_principal()
        return principal

    @property
    def signed_in(self) -> bool:
        return self._session.principal is not None

    def _on_session_changed(self) -> None:
        if self._closed or not self._identity_changed(self._session.principal):
            return
        self.cancel_all()
        self._switch(self._session.principal)

    def _switch(self, principal: Principal | None) -> None:
        raise NotImplementedError

    def resync(self) -> None:
        """Drop what is shown and load it again (the live feed lost events)."""
        if not self._closed and self._session.principal is not None:
            self.cancel_all()
            self._switch(self._session.principal)

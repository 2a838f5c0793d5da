"""``StatsStore`` over a scripted stats service (one class under test): batches reach
the history (bounded) and one signal each; a watch of another target closes the previous
stream and drops its history; ``stop()`` closes the stream; signing out stops and
forgets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import set_up
from tests.support.qt import Workspace
from windflow_desktop.domain.containers import ContainerStats
from windflow_desktop.stores.stats import HISTORY, StatsStore

WAIT_MS = 5_000


class ScriptedStats:
    """Yields a batch for container "c-<target>" every few milliseconds; records which
    watches are open."""

    def __init__(self) -> None:
        self.open: set[uuid.UUID] = set()
        self.closed: list[uuid.UUID] = []

    async def watch(self, principal: Any, target_id: uuid.UUID, *, interval_s: float = 1.0,
                    refresh_s: float = 5.0) -> AsyncIterator[dict[str, ContainerStats]]:
        self.open.add(target_id)
        try:
            n = 0
            while True:
                await asyncio.sleep(0.002)
                n += 1
                yield {f"c-{target_id}": ContainerStats(float(n), n, 100, 0, 0)}
        finally:
            self.open.discard(target_id)
            self.closed.append(target_id)


def test_batches_history_switch_stop_and_sign_out(qtbot: QtBot, workspace: Workspace) -> None:
    set_up(workspace)
    workspace.run(workspace.session.login("alice", PASSWORD))
    service = ScriptedStats()
    store = StatsStore(service, workspace.session)
    one, two = uuid.uuid4(), uuid.uuid4()
    signals: list[dict[str, ContainerStats]] = []
    store.sig_stats_updated.connect(signals.append)
    try:
        store.watch(one)
        qtbot.waitUntil(lambda: len(signals) > HISTORY + 20, timeout=WAIT_MS)
        samples = store.history(f"c-{one}")
        assert len(samples) == HISTORY  # bounded: the oldest went
        assert samples[-1] is store.latest(f"c-{one}") and samples[-1].cpu_percent > HISTORY
        assert signals[-1] == {f"c-{one}": signals[-1][f"c-{one}"]}
        assert store.streaming and service.open == {one}

        store.watch(two)  # another target: the first stream closed, its history gone
        qtbot.waitUntil(lambda: service.open == {two} and one in service.closed,
                        timeout=WAIT_MS)
        assert not store.history(f"c-{one}")
        qtbot.waitUntil(lambda: bool(store.history(f"c-{two}")), timeout=WAIT_MS)
        assert store.watch(two) is store.watch(two)  # already watching: the same task

        store.stop()
        qtbot.waitUntil(lambda: not store.streaming and not service.open, timeout=WAIT_MS)
        kept = len(store.history(f"c-{two}"))
        qtbot.wait(50)
        assert len(store.history(f"c-{two}")) == kept  # nothing arrives once stopped

        store.watch(two)
        qtbot.waitUntil(lambda: service.open == {two}, timeout=WAIT_MS)
        workspace.run(workspace.session.logout())
        qtbot.waitUntil(lambda: not service.open and not store.streaming, timeout=WAIT_MS)
        assert store.target_id is None and not store.history(f"c-{two}")
    finally:
        workspace.run(store.shutdown())
    assert not service.open

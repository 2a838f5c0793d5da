"""A sweep shut down stays stopped. At the app's exit the stores shut down newest first —
the updates and drift sweeps before the targets store — and a targets load that ended
meanwhile said "the fleet is known" again: the sweeps' loops started anew and ran on
after the workspace's database was closed (their units of work returned connections to a
disposed pool; the garbage collector found them unclosed later, in another test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import set_up
from tests.support.qt import Workspace
from tests.support.targets_store import target_service
from windflow_desktop.domain.containers import Drift
from windflow_desktop.domain.identity import Principal
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.stores.updates import DriftStore


class NoDrift:
    def __init__(self) -> None:
        self.checks = 0

    async def check(self, principal: Principal, target_id: uuid.UUID) -> Sequence[Drift]:
        self.checks += 1
        return ()


@contextmanager
def _stores(workspace: Workspace, tmp_path: Path) -> Iterator[tuple[TargetsStore, DriftStore]]:
    """Alice signed in; the targets store and a drift sweep over it, shut down after."""
    set_up(workspace)
    workspace.run(workspace.session.login("alice", PASSWORD))
    targets = TargetsStore(target_service(workspace, tmp_path), workspace.session)
    drift = DriftStore(workspace.session, NoDrift(), targets, interval_s=3600)
    try:
        yield targets, drift
    finally:
        workspace.run(drift.shutdown())
        workspace.run(targets.shutdown())


def test_a_sweep_shut_down_is_not_started_by_a_later_load_of_the_fleet(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    with _stores(workspace, tmp_path) as (targets, drift):
        workspace.run(drift.shutdown())
        workspace.run(targets.load())  # the first load: "the fleet is known"
        assert targets.loaded
        assert drift._loop is not None and not drift._loop.running
        drift.check_targets([uuid.uuid4()])  # a health round's news: nothing starts
        assert not drift.busy


def test_a_sweep_still_starts_once_the_fleet_is_known(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    with _stores(workspace, tmp_path) as (targets, drift):
        workspace.run(targets.load())
        assert drift._loop is not None and drift._loop.running
    assert not drift._loop.running

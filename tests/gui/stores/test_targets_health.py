"""The targets store checks the fleet's health itself (``health_interval_s``): the first
round runs as soon as the targets are loaded — not an interval later — its result reaches
the store's rows, and shutting the store down stops the loop."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.auth_dialogs import set_up
from tests.support.qt import Workspace
from tests.support.targets_store import target_service
from windflow_desktop.domain.enums import TargetKind, TargetStatus
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.stores.targets import TargetsStore

WAIT_MS = 15_000


def test_first_health_round_runs_once_the_fleet_is_loaded(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    set_up(workspace)
    workspace.run(workspace.session.login("alice", PASSWORD))
    service = target_service(workspace, tmp_path)
    principal = workspace.session.require_principal()
    # A local target whose engine socket does not exist: the health round finds it down.
    gone = workspace.run(service.create_target(principal, TargetSpec(
        name="gone", kind=TargetKind.LOCAL, docker_socket=str(tmp_path / "no.sock"))))
    assert gone.status is TargetStatus.UNKNOWN
    store = TargetsStore(service, workspace.session, health_interval_s=3600)
    try:
        store.load()
        qtbot.waitUntil(lambda: (t := store.target(gone.id)) is not None
                        and t.status in (TargetStatus.OFFLINE, TargetStatus.ERROR),
                        timeout=WAIT_MS)
    finally:
        workspace.run(store.shutdown())
    assert store._health is not None and not store._health.running


def test_no_health_loop_without_an_interval(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    set_up(workspace)
    workspace.run(workspace.session.login("alice", PASSWORD))
    store = TargetsStore(target_service(workspace, tmp_path), workspace.session)
    try:
        workspace.run(store.load())
        assert store._health is None
    finally:
        workspace.run(store.shutdown())

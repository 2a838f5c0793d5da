"""Settings → Workers over a real ``windflow serve`` with Redis and one ``windflow
worker`` (whose delivery limit of 0 dead-letters every job at once): the panel shows the
worker with its last heartbeat and the dead job with why it died; Retry deploys it again
(the dead entry goes). A viewer is not offered the page nor Retry (the server refuses
them too); a desktop's own workspace has no workers to show."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.env.redis import RedisServer
from tests.support.qt import Workspace
from tests.support.server import (
    PASSWORD,
    _environ,
    bearer,
    create_owner,
    running_server,
    sign_in,
)
from windflow_desktop.config import load_settings
from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.remote.auth import RemoteAuth
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.workers import RemoteWorkers
from windflow_desktop.stores.session import SessionStore
from windflow_desktop.stores.workers import WorkersStore
from windflow_desktop.ui.views.workers import WorkersPanel
from windflow_desktop.workspace import Workspace as LocalWorkspace

WAIT_MS = 30_000
COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def team(tmp_path: Path, redis_server: RedisServer) -> Iterator[dict[str, Any]]:
    """A server with the job queue on Redis and one worker; olga (owner) deployed a stack
    that the worker dead-lettered; vera is a viewer."""
    home = tmp_path / "server"
    home.mkdir()
    env = {"WINDFLOW_REDIS_URL": redis_server.url}
    create_owner(home, **env)
    with running_server(home, **env) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/users", headers=owner, json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD,
            "role": "viewer"})
        assert made.status_code == 201, made.text
        target = http.post("/api/v1/targets", headers=owner, json={
            "name": "box", "kind": "local", "docker_socket": f"unix://{home}/none.sock"})
        stack = http.post("/api/v1/stacks", headers=owner,
                          json={"name": "Web", "compose_yaml": COMPOSE})
        with (tmp_path / "worker.log").open("a") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "windflow_desktop.cli", "worker"],
                env=_environ(home, **env, WINDFLOW_WORKER_MAX_DELIVERIES="0"),
                stdout=log, stderr=subprocess.STDOUT)
        try:
            deployed = http.post("/api/v1/deployments", headers=owner, json={
                "stack_id": stack.json()["stack"]["id"],
                "target_ids": [target.json()["id"]]})
            assert deployed.status_code == 202, deployed.text
            yield {"server": server, "http": http, "owner": owner,
                   "deployment": deployed.json()["deployments"][0]["id"]}
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def signed_in(workspace: Workspace, url: str, user: str) -> tuple[ServerSession,
                                                                   SessionStore]:
    remote = ServerSession(url)
    session = SessionStore(RemoteAuth(remote))
    workspace.run(session.login(user, PASSWORD))
    assert session.principal is not None
    return remote, session


def test_workers_panel_shows_the_worker_and_a_dead_job_and_retries_it(
        qtbot: QtBot, workspace: Workspace, team: dict[str, Any], tmp_path: Path) -> None:
    remote, session = signed_in(workspace, team["server"].url, "olga")
    store = WorkersStore(session, RemoteWorkers(remote), refresh_s=0.5)
    panel = WorkersPanel(store)
    qtbot.addWidget(panel)
    try:
        assert store.allowed
        panel.resize(900, 560)
        panel.show()  # follows the report while shown
        qtbot.waitUntil(lambda: len(store.report.dead_jobs) == 1
                        and len(store.report.workers) == 1, timeout=WAIT_MS)
        dead = store.report.dead_jobs[0]
        assert str(dead.deployment_id) == team["deployment"]
        assert "dead-lettered" in dead.reason and "the limit is 0" in dead.reason
        assert panel.workers_model.rowCount() == 1 and panel.dead_model.rowCount() == 1
        heartbeat = panel.workers_model.index(0, 1).data()
        assert heartbeat.endswith(" s ago"), heartbeat
        assert "1 dead" in panel.counts.text() and "1 worker alive" in panel.counts.text()
        assert panel.retry_button.isVisible() and not panel.retry_button.isEnabled()
        panel.grab().save(str(tmp_path / "workers-panel.png"))

        panel.dead_table.selectRow(0)
        qtbot.waitUntil(panel.retry_button.isEnabled, timeout=WAIT_MS)
        panel.retry_button.click()
        # Retried: a new deployment of the same stack, the old dead entry gone (the new
        # one dies too at this worker's limit of 0, under its own id).
        qtbot.waitUntil(lambda: all(d.id != dead.id for d in store.report.dead_jobs)
                        and len(store.report.dead_jobs) == 1, timeout=WAIT_MS)
        again = store.report.dead_jobs[0]
        assert str(again.deployment_id) != team["deployment"]
        listed = team["http"].get("/api/v1/deployments", headers=team["owner"]).json()
        assert {str(again.deployment_id), team["deployment"]} <= {
            d["id"] for d in listed["items"]}
        panel.hide()
        assert not store._timer.isActive()  # no refresh while not shown
    finally:
        workspace.run(store.shutdown())
        workspace.run(session.shutdown())
        workspace.run(remote.close())


def test_a_viewer_is_not_offered_the_workers_nor_retry(
        qtbot: QtBot, workspace: Workspace, team: dict[str, Any]) -> None:
    remote, session = signed_in(workspace, team["server"].url, "vera")
    store = WorkersStore(session, RemoteWorkers(remote))
    panel = WorkersPanel(store)
    qtbot.addWidget(panel)
    try:
        assert not store.allowed
        assert store.load() is None  # asks nothing
        panel.show()
        assert not panel.retry_button.isVisible()
        with pytest.raises(PermissionDeniedError):  # and the server refuses them anyway
            workspace.run(RemoteWorkers(remote).report(session.require_principal()))
    finally:
        workspace.run(store.shutdown())
        workspace.run(session.shutdown())
        workspace.run(remote.close())


def test_a_desktops_own_workspace_has_no_workers_page(workspace: Workspace,
                                                       tmp_path: Path) -> None:
    local = LocalWorkspace(load_settings({"WINDFLOW_HOME": str(tmp_path / "desk")}))
    workspace.run(local.open())
    try:
        assert local.services.workers.available is False
    finally:
        workspace.run(local.close())

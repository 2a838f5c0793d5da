"""The journey in remote mode, through the very stores the windows use, built over a real
server with ``build_stores(RemoteServices…)``: the owner made with ``windflow
create-owner`` signs in, adds a target the server reaches (the test engine), creates a
stack, deploys it — succeeded in the deployments store, live — stops it and removes it.
A second desktop signed in to the same server sees the first one's new stack in under a
second. A viewer's stores offer no deploy, and the viewer's own token is refused 403."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.deploy import compose_v2_config
from tests.support.qt import Runner
from tests.support.server import PASSWORD, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.enums import DeploymentStatus, TargetKind
from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.domain.permissions import DEPLOYMENTS_CREATE, PermissionChecker
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.remote.connection import ServerConnection
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.stores.build import Stores, build_stores
from windflow_desktop.stores.host_keys import HostKeyQuestions

# A stream the server ends (the viewer's sign-in replaces olga's session) leaves httpx's
# line iterators to the collector, which finalises them outside their task: anyio
# reports that as unraisable (the connection itself was closed).
pytestmark = [pytest.mark.docker,
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
WAIT_MS = 60_000
STACK = ("services:\n  web:\n    image: localhost/busybox\n"
         "    command: [\"sleep\", \"1000000\"]\n    stop_signal: SIGKILL\n")


def desktop(url: str, tmp_path: Path, name: str, arun: Runner[Any]) -> tuple[
        ServerConnection, Stores]:
    connection = ServerConnection(url, SecretStore(MemoryKeyring()))
    arun(connection.open())
    settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
    stores = build_stores(connection.services, connection.bus, settings,
                          host_keys=HostKeyQuestions(), health_interval_s=None)
    return connection, stores


def sign_in_as(stores: Stores, connection: ServerConnection, user: str, qtbot: QtBot,
               arun: Runner[Any]) -> None:
    task = stores.session.login(user, PASSWORD)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert stores.session.signed_in, stores.session.error_of(task)
    arun(connection.signed_in())


def test_the_journey_through_a_server(qtbot: QtBot, arun: Runner[Any], tmp_path: Path,
                                      docker_engine: DockerEngine) -> None:
    home = tmp_path / "server"
    create_owner(home)
    with running_server(home, DOCKER_CONFIG=str(compose_v2_config(home)),
                        HOME=str(home)) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/users", headers=owner, json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD})
        assert made.status_code == 201, made.text
        one, a = desktop(server.url, tmp_path, "a", arun)
        two, b = desktop(server.url, tmp_path, "b", arun)
        try:
            sign_in_as(a, one, "olga", qtbot, arun)
            sign_in_as(b, two, "olga", qtbot, arun)
            qtbot.waitUntil(lambda: str(two.bus.state) == "connected", timeout=WAIT_MS)

            saved = a.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                              docker_socket=docker_engine.host))
            qtbot.waitUntil(saved.done, timeout=WAIT_MS)
            target = saved.result()
            assert target is not None, a.targets.error_of(saved)

            b.stacks.load()
            created = a.stacks.create(name=f"shop {uuid.uuid4().hex[:4]}",
                                      compose_yaml=STACK, variables=[])
            qtbot.waitUntil(created.done, timeout=WAIT_MS)
            stack = created.result()
            assert stack is not None, a.stacks.error_of(created)
            # The other desktop's list follows, live (how fast: the benchmarks).
            qtbot.waitUntil(lambda: any(s.id == stack.id for s in b.stacks.rows),
                            timeout=WAIT_MS)

            a.deployments.load()
            deployed = a.deployments.deploy(stack.id, [target.id])
            qtbot.waitUntil(deployed.done, timeout=WAIT_MS)
            [dep] = deployed.result()
            qtbot.waitUntil(lambda: any(d.id == dep.id and d.status is
                                        DeploymentStatus.SUCCEEDED
                                        for d in a.deployments.rows), timeout=WAIT_MS)
            stopped = a.deployments.act_on("stop", dep.id)
            qtbot.waitUntil(stopped.done, timeout=WAIT_MS)
            qtbot.waitUntil(lambda: any(d.id == dep.id and d.status is
                                        DeploymentStatus.STOPPED
                                        for d in a.deployments.rows), timeout=WAIT_MS)
            removed = a.deployments.act_on("remove", dep.id)
            qtbot.waitUntil(removed.done, timeout=WAIT_MS)
            qtbot.waitUntil(lambda: any(d.id == dep.id and d.status is
                                        DeploymentStatus.REMOVED
                                        for d in a.deployments.rows), timeout=WAIT_MS)
            assert not docker_engine.cli("ps", "-aq", "--filter",
                                         f"label=com.docker.compose.project="
                                         f"{dep.project_name}").strip()

            # A viewer: no deploy offered; a hand-made request with the token is 403.
            arun(b.session.logout())
            sign_in_as(b, two, "vera", qtbot, arun)
            principal = b.session.require_principal()
            assert not PermissionChecker(principal).has_permission(DEPLOYMENTS_CREATE)
            with pytest.raises(PermissionDeniedError):
                arun(two.session.request("POST", "/deployments", json={
                    "stack_id": str(stack.id), "target_ids": [str(target.id)]}))
        finally:
            for stores, connection in ((a, one), (b, two)):
                arun(stores.shutdown())
                arun(connection.close())

"""A server restart in the middle of a deployment's log, as the desktop's deployments
store shows it (over ``build_stores(RemoteServices…)``, as the windows use it): the
chosen deployment stays chosen, and the lines written while the server was away — the
deployment even finished meanwhile — are shown after the last one shown, each once, in
order; the detail says it succeeded.

The deployment is run by a process of its own (``tests/support/log_seeder.py``, a
worker's stand-in) in the server's SQLite home; it publishes no live events, so every
line the store shows comes from storage: the first page on selection, the rest when the
store catches up after the server's event stream came back."""

from __future__ import annotations

import gc
import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.support.log_seeder import start_writer
from tests.support.qt import Runner
from tests.support.server import PASSWORD, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import DeploymentLog
from windflow_desktop.remote.connection import ServerConnection
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.stores.build import build_stores
from windflow_desktop.stores.host_keys import HostKeyQuestions

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
WAIT_MS = 60_000


def test_the_chosen_deployment_log_goes_on_after_a_server_restart(
    qtbot: QtBot, arun: Runner[Any], tmp_path: Path
) -> None:
    home, stop = tmp_path / "server", tmp_path / "stop"
    create_owner(home)
    port = free_port()
    with running_server(home, port=port) as first, first.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        seeder = start_writer(http, owner, home, stop, "0.05", "50")
        connection = ServerConnection(first.url, SecretStore(MemoryKeyring()))
        stores = None
        try:
            assert seeder.stdout is not None
            deployment_id = uuid.UUID(seeder.stdout.readline().strip())
            arun(connection.open())
            stores = build_stores(connection.services, connection.bus,
                                  QSettings(str(tmp_path / "ui.ini"),
                                            QSettings.Format.IniFormat),
                                  host_keys=HostKeyQuestions(), health_interval_s=None,
                                  server=first.url)
            deployments = stores.deployments
            shown: list[DeploymentLog] = []
            deployments.sig_log_reset.connect(shown.clear)
            deployments.sig_log_appended.connect(shown.extend)
            login = stores.session.login("olga", PASSWORD)
            qtbot.waitUntil(login.done, timeout=WAIT_MS)
            arun(connection.signed_in())
            qtbot.waitUntil(lambda: stores is not None and stores.connection.online,
                            timeout=WAIT_MS)
            deployments.select(deployment_id)
            qtbot.waitUntil(lambda: len(shown) >= 20, timeout=WAIT_MS)

            first.process.kill()  # the server dies mid-log; the deployment goes on
            first.process.wait(timeout=30)
            qtbot.waitUntil(lambda: stores is not None and not stores.connection.online,
                            timeout=WAIT_MS)
            before = len(shown)
            stop.touch()  # ... and finishes while no server runs
            written = int(seeder.communicate(timeout=60)[0].strip())
            assert written > before

            with running_server(home, port=port) as second:  # the same port again
                qtbot.waitUntil(lambda: stores is not None and stores.connection.online,
                                timeout=WAIT_MS)
                qtbot.waitUntil(lambda: deployments.log_seq == written, timeout=WAIT_MS)
                assert deployments.detail is not None
                assert deployments.detail.id == deployment_id
                qtbot.waitUntil(lambda: deployments.detail is not None and
                                deployments.detail.status is DeploymentStatus.SUCCEEDED,
                                timeout=WAIT_MS)
                kept = http.get(f"{second.url}/api/v1/deployments/{deployment_id}/logs",
                                headers=owner, params={"limit": 5000}).json()["lines"]
        finally:
            if seeder.poll() is None:
                seeder.kill()
                seeder.wait()
            if stores is not None:
                arun(stores.shutdown())
            arun(connection.close())
            gc.collect()  # what the killed server's streams left: finalised under the mark

    assert [(x.seq, x.line) for x in shown] == [(int(seq), line)
                                                for seq, _ts, _s, line in kept]
    assert [x.seq for x in shown] == list(range(1, written + 1))

"""A server restart in the middle of a deployment's log: the desktop's follow
(``RemoteDeployments.follow_logs``) gets every line exactly once, in order, and ends
when the deployment has finished.

The server keeps its data in a SQLite home, so it survives the restart. The deployment
is run by a process of its own (``tests/support/log_seeder.py``: what a ``windflow
worker`` is to a server — it records the deployment, keeps its heartbeat fresh and
appends numbered lines through the repository call the pipeline's log writer makes),
so it goes on writing while the server is dead. The server is killed (SIGKILL: no
goodbye on the stream) once the follow has received lines, started again on the same
port while the lines keep coming, and the deployment finishes only after the follow has
received lines through the second server. The follow runs on its own event loop in a
thread, as the desktop's would go on while this test waits for the server."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.env.services import free_port
from tests.support.log_seeder import start_writer
from tests.support.server import PASSWORD, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import DeploymentLog
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.deployments import RemoteDeployments

NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)  # not sent: the token's caller acts


class Follower(threading.Thread):
    """``follow_logs`` of one deployment on a loop of its own; ``received`` grows as the
    lines arrive, ``error`` is what ended it otherwise."""

    def __init__(self, url: str, deployment_id: uuid.UUID) -> None:
        super().__init__(daemon=True)
        self.url, self.deployment_id = url, deployment_id
        self.received: list[DeploymentLog] = []
        self.error: BaseException | None = None
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            asyncio.run(self._follow())
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended.set()

    async def _follow(self) -> None:
        session = ServerSession(self.url)
        try:
            await session.login("olga", PASSWORD)
            async for line in RemoteDeployments(session).follow_logs(NOBODY,
                                                                     self.deployment_id):
                self.received.append(line)
        finally:
            await session.close()


def until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not in {within} s: {what}"
        time.sleep(0.02)


def journal(url: str, deployment_id: uuid.UUID, headers: dict[str, str]
            ) -> list[tuple[int, datetime, str]]:
    """The deployment's log as the server keeps it, all of it (paged)."""
    lines: list[tuple[int, datetime, str]] = []
    with httpx.Client(base_url=url, timeout=30) as http:
        while True:
            answer = http.get(f"/api/v1/deployments/{deployment_id}/logs", headers=headers,
                              params={"after_seq": lines[-1][0] if lines else 0,
                                      "limit": 1000})
            assert answer.status_code == 200, answer.text
            page = [(int(seq), datetime.fromisoformat(ts), str(text))
                    for seq, ts, _stream, text in answer.json()["lines"]]
            if not page:
                return lines
            lines.extend(page)


def test_every_line_arrives_once_in_order_across_a_server_restart(tmp_path: Path) -> None:
    home, stop = tmp_path / "server", tmp_path / "stop"
    create_owner(home)
    port = free_port()
    with running_server(home, port=port) as first, first.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        seeder = start_writer(http, owner, home, stop)
        try:
            assert seeder.stdout is not None
            deployment_id = uuid.UUID(seeder.stdout.readline().strip())
            follower = Follower(first.url, deployment_id)
            follower.start()
            until(lambda: len(follower.received) >= 200 or follower.ended.is_set(), 60,
                  "200 lines before the restart")
            first.process.kill()  # no goodbye on the stream
            first.process.wait(timeout=30)
            killed_at, at_kill = datetime.now(UTC), len(follower.received)
            assert seeder.poll() is None, "the deployment was still writing"

            with running_server(home, port=port) as second:  # the same port again
                back_at = datetime.now(UTC)
                until(lambda: len(follower.received) >= at_kill + 200
                      or follower.ended.is_set(), 60,
                      "200 more lines through the restarted server")
                assert not follower.ended.is_set(), follower.error
                stop.touch()  # the deployment ends: its last lines, then it succeeded
                assert follower.ended.wait(60), "the follow ended with the deployment"
                assert follower.error is None, follower.error
                written = int(seeder.communicate(timeout=60)[0].strip())
                kept = journal(second.url, deployment_id, owner)
                status = http.get(f"{second.url}/api/v1/deployments/{deployment_id}",
                                  headers=owner).json()["status"]
        finally:
            if seeder.poll() is None:
                seeder.kill()
                seeder.wait()

    assert status == "succeeded"
    assert [seq for seq, _ts, _line in kept] == list(range(1, written + 1))
    # Lines were written while no server ran; all of them arrived too.
    assert any(killed_at < ts < back_at for _seq, ts, _line in kept)
    assert at_kill < written
    received = [(line.seq, line.line) for line in follower.received]
    assert received == [(seq, line) for seq, _ts, line in kept]

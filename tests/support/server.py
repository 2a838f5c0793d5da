"""A real ``windflow serve`` on loopback (its own process, its own WINDFLOW_HOME, the
in-memory test keyring), and ``windflow create-owner`` run the way an admin runs it."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.env.services import free_port

if TYPE_CHECKING:
    from windflow_desktop.remote.client import ServerSession

KEYRING = "tests.env.keyring_backend.MemoryKeyring"
PASSWORD = "correct horse battery staple"
COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"


def windflow(home: Path, *args: str, stdin: str = "", **env: str
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "windflow_desktop.cli", *args],
                          input=stdin, capture_output=True, text=True, timeout=120,
                          env=_environ(home, **env))


def create_owner(home: Path, **env: str) -> None:
    """``olga``, owner of ``Acme``, made the way an admin makes the first owner."""
    made = windflow(home, "create-owner", "olga", "--org", "Acme", stdin=PASSWORD + "\n",
                    **env)
    assert made.returncode == 0, made.stderr
    assert "olga is the owner of Acme" in made.stdout


def sign_in(http: httpx.Client, user: str) -> dict[str, Any]:
    """The token pair of ``user`` (password ``PASSWORD``)."""
    answer = http.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _environ(home: Path, **env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
    environ.update({"WINDFLOW_HOME": str(home), "PYTHON_KEYRING_BACKEND": KEYRING, **env})
    return environ


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@contextmanager
def running_server(home: Path, *args: str, scheme: str = "http", ca_file: str | None = None,
                   port: int | None = None, **env: str) -> Iterator[Server]:
    """``windflow serve`` with ``args`` on a free loopback port, once it is ready
    (``https`` with ``--tls-cert``/``--tls-key``: checked against ``ca_file``)."""
    port = port or free_port()
    # Its output goes to a file: a pipe nobody reads would stop the server once full.
    output = home / f"serve-{port}.out"
    with output.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "windflow_desktop.cli", "serve", "--port", str(port), *args],
            env=_environ(home, **env), stdout=sink, stderr=subprocess.STDOUT, text=True)
    server = Server(f"{scheme}://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"windflow serve ended: {output.read_text()[-4000:]}")
            try:
                verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
                if httpx.get(f"{server.url}/readyz", timeout=2,
                             verify=verify).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("windflow serve did not get ready in 60 s")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def acme_server(home: Path, *args: str, **env: str) -> Iterator[Server]:
    """A running server where ``olga`` (owner) and ``vera`` (viewer) of Acme sign in
    with ``PASSWORD`` — the set-up most tests through a server start from."""
    create_owner(home, **env)
    with running_server(home, *args, **env) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/users", headers=owner, json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD})
        assert made.status_code == 201, made.text
        yield server


async def signed_in(server: Server, user: str) -> ServerSession:
    """The desktop's client of ``server``, signed in as ``user``; close it when done."""
    from windflow_desktop.remote.client import ServerSession

    session = ServerSession(server.url)
    await session.login(user, PASSWORD)
    return session


class EventStream:
    """``GET /api/v1/events`` read in a thread: each frame as a dict (``id``, ``event``,
    ``data``); ``ended`` once the server closed the stream."""

    def __init__(self, url: str, token: str, last_event_id: str | None = None) -> None:
        self.frames: list[dict[str, Any]] = []
        self.ended = threading.Event()
        self._stop = threading.Event()
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        frame: dict[str, Any] = {}
        try:
            with httpx.stream("GET", f"{url}/api/v1/events", headers=headers,
                              timeout=httpx.Timeout(30, read=None)) as response:
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if not line:
                        if "event" in frame:
                            frame["data"] = json.loads(frame.get("data", "{}"))
                            self.frames.append(frame)
                        frame = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(": ")
                        frame[key] = value
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def close(self) -> None:
        self._stop.set()

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not predicate(list(self.frames)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not seen in {timeout} s; frames: {self.frames}")
            time.sleep(0.02)
        return list(self.frames)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["event"] == event_type]

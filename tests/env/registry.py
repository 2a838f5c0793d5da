"""A real image registry for tests: the CNCF distribution registry (Debian package
``docker-registry``) on a free loopback port, plain HTTP, no auth, storage in a temporary
folder. Docker engines trust registries on 127.0.0.0/8 over plain HTTP by default, so the
test engine pushes to and pulls from ``<registry.host>/name:tag`` with no extra setup.

``start_registry()`` / ``Registry.stop()`` are plain functions like ``start_docker()``;
``registry`` is the session fixture (scoped like ``docker_engine``; import it into the test
module). A test that stops a registry on purpose starts its own with ``start_registry()``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .services import free_port, require_binary, stop_process

CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
"""


@dataclass
class Registry:
    """A ``docker-registry serve`` process; ``host`` is ``127.0.0.1:PORT``, the prefix of
    its image references."""

    binary: str
    base_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    # Extra configuration (an ``auth:`` section): set before ``start``; with one, a 401
    # on ``/v2/`` means ready.
    auth: str = ""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "registry.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return self.log_file.read_text(errors="replace")[-chars:] or "(empty log)"

    def start(self, timeout: float = 15.0) -> None:
        """Start on ``port`` (again, after ``stop``: the stored images are kept) and wait
        until ``GET /v2/`` answers 200."""
        assert not self.running, "already running"
        config = self.base_dir / "config.yml"
        config.write_text(CONFIG.format(storage=self.base_dir / "storage", port=self.port,
                                         secret=secrets.token_hex(16)) + self.auth)
        # REGISTRY_* variables override the config file: keep the caller's out.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with open(self.log_file, "ab") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"docker-registry exited with code {code} before "
                                   f"answering on {self.url}/v2/:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and self.auth:
                    return
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"docker-registry did not answer 200 on {self.url}/v2/ "
                                   f"within {timeout} s (last: {last}):\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the process (the storage stays, ``start`` serves it again)."""
        if self.proc is not None:
            stop_process(self.proc)

    def remove(self) -> None:
        """Stop and delete the folder with the stored images."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_registry(timeout: float = 15.0) -> Registry:
    """Start a registry on a free loopback port (about 0.1 s); ``remove()`` when done."""
    binary = require_binary("docker-registry", package="docker-registry")
    base = Path(tempfile.mkdtemp(prefix="wf-registry-"))
    registry = Registry(binary, base, free_port())
    try:
        registry.start(timeout)
    except BaseException:
        registry.remove()
        raise
    return registry


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    reg = start_registry()
    try:
        yield reg
    finally:
        reg.remove()


"""Finding the real services the tests need (PostgreSQL, Redis, Docker, sshd, Xvfb).

A missing service skips the tests that need it, with the reason — except under
``CI=true``, where it fails them: CI must prove every feature against the real thing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip (or, under CI=true, fail) the current test because a service is missing."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def find_binary(name: str, *extra_globs: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for pattern in extra_globs:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return None


def require_binary(name: str, *extra_globs: str, package: str = "") -> str:
    path = find_binary(name, *extra_globs)
    if path is None:
        hint = f" (Debian package {package})" if package else ""
        missing(f"{name} is not installed{hint}; `make test` installs it on Debian as root")
        raise AssertionError("unreachable")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def writable_tmp(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    path = tmp_path_factory.mktemp(name)
    path.chmod(0o755)
    return path

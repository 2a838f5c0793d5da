"""Which process runs what: this process's runner id, one lock per Compose project (one
action at a time on a project), and whether a deployment another process holds is still
being run (its process alive on this machine, else a fresh heartbeat)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import Callable
from datetime import datetime

from ...domain.models import Deployment


def new_runner_id() -> str:
    """host:pid:nonce — the nonce tells two runs apart that got the same pid (in a
    container, the app's pid is the same at every start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ProjectLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, project: str) -> asyncio.Lock:
        return self._locks.setdefault(project, asyncio.Lock())


def is_live(dep: Deployment, *, runner: str, ours: Callable[[uuid.UUID], bool],
            now: datetime, stale_s: float) -> bool:
    """Whether a process may still be running ``dep``. This process's own deployments
    are known to ``ours`` (a row of ours nothing holds is stuck, not live). On this
    machine the process must still exist; elsewhere its heartbeat must be younger than
    ``stale_s`` (by this machine's clock)."""
    if dep.runner is None or dep.runner == runner:
        return ours(dep.id)
    host, pid = host_and_pid(dep.runner)
    if host == host_and_pid(runner)[0] and not process_exists(pid):
        return False
    return dep.heartbeat_at is not None and \
        (now - dep.heartbeat_at).total_seconds() < stale_s


def host_and_pid(runner: str) -> tuple[str, str]:
    """("host", "pid") of "host:pid:nonce" (or of an older "host:pid")."""
    parts = runner.rsplit(":", 2)
    if len(parts) == 3 and not parts[1].isdigit():  # "host:with:colons:pid"
        parts = runner.rsplit(":", 1)
    return (parts[0], parts[1]) if len(parts) >= 2 else (runner, "")


def process_exists(pid: str) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would send Ctrl+C there
        return True  # unknown: the heartbeat decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError, OSError):
        return True  # not ours to signal, or not a pid: assume it may live
    return True

"""Waiting for a Compose project's services to run, and seeing trouble in them.

``wait_healthy``: every service running (healthy where it has a healthcheck), no restart
loop, and every container running for ``settle_s`` since its own ``State.StartedAt``.
``trouble``: the first exit, restart loop or unhealthy state in a ``ps``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..domain.errors import Cancelled, DeploymentError, WindFlowError
from .compose import ComposeProject
from .container_state import ContainerState
from .executor import LineCallback


@dataclass(frozen=True)
class HealthRules:
    timeout_s: float = 120.0
    settle_s: float = 0.0
    poll_s: float = 0.15
    restart_loop_after: int = 2  # restarts seen while waiting that mean a loop


def running_text(count: int) -> str:
    """"the 1 service running" / "all 3 services running"."""
    return "the 1 service running" if count == 1 else f"all {count} services running"


async def wait_healthy(project: ComposeProject, services: list[str], rules: HealthRules,
                       on_line: LineCallback,
                       should_stop: Callable[[], bool] | None = None, *,
                       healthy: list[ContainerState] | None = None) -> dict[str, int]:
    """Wait until every service runs and has run ``rules.settle_s``; returns the restart
    count each container had when first seen (the baseline a later watch goes on from).

    Uptime is counted by the target's clock, read in the same command as the inspect,
    so the part of the window that passed during ``up`` counts; a restart changes
    StartedAt and starts the window again. If the clocks disagree (a negative uptime)
    or a time is unreadable, the window counts from when this loop first saw the
    container running with that StartedAt. Exits, restart loops and unhealthy states
    seen at any check raise ``DeploymentError``; ``should_stop`` raises ``Cancelled``.
    ``healthy`` (when given) receives the containers of the check that found them healthy."""
    settle = rules.settle_s
    deadline = time.monotonic() + rules.timeout_s
    first_restarts: dict[str, int] = {}
    first_seen: dict[tuple[str, str], float] = {}  # (container, StartedAt) → monotonic
    announced = False
    waiting = ""
    while True:
        if should_stop is not None and should_stop():
            raise Cancelled()
        states = await project.ps()
        now = time.monotonic()
        await fail_on_trouble(project, states, services, first_restarts, rules, on_line)
        by_service: dict[str, list[ContainerState]] = {}
        for c in states:
            by_service.setdefault(c.service, []).append(c)
        waiting = ""
        settle_left = 0.0
        for name in services:
            containers = by_service.get(name, [])
            if not containers:
                waiting = f"{name} has no container"
            for c in containers:
                if c.status != "running":
                    waiting = f"{name} is {c.status}"
                    continue
                if c.health == "starting":
                    waiting = f"{name} is starting (healthcheck)"
                seen = first_seen.setdefault((c.name, c.started_at), now)
                uptime = max(c.uptime_s or 0.0, now - seen)
                settle_left = max(settle_left, settle - uptime)
        settling = not waiting  # all up; only the window is left
        if settling:
            if settle_left <= 0:
                if healthy is not None:
                    healthy[:] = states
                return first_restarts
            if not announced:
                announced = True
                on_line("system", f"{running_text(len(services))}; each is watched "
                                  f"until it has run {settle:g} s")
            waiting = f"services have run less than {settle:g} s"
        if now >= deadline:
            raise DeploymentError(f"not healthy within {rules.timeout_s:g} s: {waiting}")
        # While only the window is left, the next check is at its end (at most 1 s
        # away): that check sees an exit or a restart (a new StartedAt) in between.
        pause = min(settle_left + 0.005, 1.0) if settling else rules.poll_s
        await asyncio.sleep(pause)


async def fail_on_trouble(project: ComposeProject, states: list[ContainerState],
                          services: list[str], first_restarts: dict[str, int],
                          rules: HealthRules, on_line: LineCallback) -> None:
    """Raise for an exited container (its last lines go to ``on_line``), a restart loop
    (counted from ``first_restarts``, filled in here) or an unhealthy one."""
    wanted = set(services)
    for c in states:
        if c.service not in wanted:
            continue
        first = first_restarts.setdefault(c.name, c.restart_count)
        if c.status in ("exited", "dead"):
            with contextlib.suppress(WindFlowError):  # its last words, when they come
                for line in await project.logs_tail(c.name):
                    on_line("stderr", f"{c.service} | {line}")
            raise DeploymentError(f"service {c.service} exited with code {c.exit_code}")
        if c.restart_count - first >= rules.restart_loop_after:
            raise DeploymentError(f"service {c.service} is in a restart loop "
                                  f"({c.restart_count} restarts)")
        if c.health == "unhealthy":
            raise DeploymentError(f"service {c.service} is unhealthy")

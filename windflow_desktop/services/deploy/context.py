"""What every part of the deployment core shares: where it stores and publishes (the
services' context), how it reaches targets and reads secrets, its settings, its clock
and which process it is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ...domain.errors import WindFlowError
from ...domain.events import Event
from ...domain.models import Target
from ...engine.executor import Executor
from ...engine.health_wait import HealthRules
from ...engine.preflight import Minimums
from ...repositories.protocols import Backend
from ..common import ServiceContext

log = logging.getLogger("windflow.deploy")


class ExecutorProvider(Protocol):
    """Gives the (pooled) executor of a target: the app passes its ``ExecutorPool``."""

    async def executor(self, target: Target) -> Executor: ...


class SecretReader(Protocol):
    async def aget(self, name: str) -> str | None: ...


@dataclass
class PipelineSettings:
    health_timeout_s: float = 120.0
    # Every container must have been running this long, counted from its own
    # State.StartedAt by the target's clock, before health passes (a restart resets it).
    # 0: health passes as soon as every service runs; what dies later is the watch's.
    settle_s: float = 0.0
    poll_s: float = 0.15
    # After a deployment succeeded, its services are checked for ``watch_s`` more (after
    # 0.25 s, then twice as long each time up to every ``watch_poll_s``): an exit, a restart
    # loop or an unhealthy state in that time rolls back exactly as a failed health stage
    # does. A newer action on the project ends the watch.
    watch_s: float = 10.0
    watch_poll_s: float = 1.0
    # No watch follows a rollback or a start: their health keeps a settle window.
    recovery_settle_s: float = 0.5
    # A process running deployments says so every ``heartbeat_s``; one silent for
    # ``runner_stale_s`` (or, on this machine, whose process is gone) runs nothing.
    heartbeat_s: float = 10.0
    runner_stale_s: float = 45.0
    restart_loop_after: int = 2  # restarts seen during health that mean a loop
    min_disk_mb: int = 200
    min_memory_mb: int = 32
    log_flush_s: float = 0.05
    log_batch: int = 2000
    # A deployment keeps its newest ``max_log_lines`` lines: older ones are deleted as
    # the log grows (each time it is a tenth over) and at the end of each run, and one
    # system line in their place says how many went.
    max_log_lines: int = 100_000
    projects_root: Callable[[Target], str | None] = field(default=lambda target: None)
    compose_flavour: str | None = None  # force "v1"/"v2"; None: v2 when present
    # A stored scan younger than this that found a Compose tells preflight which one the
    # target has (the live probe still reads home, disk, memory and ports); older, none, or
    # a scan without Compose: probe it. Scans run on demand (wizard, Scan button) and a
    # Compose install rarely changes; one that vanished still fails in validate (compose
    # config) before anything changes on the target.
    scan_fresh_s: float = 24 * 3600.0

    def health(self, *, settle_s: float | None = None) -> HealthRules:
        return HealthRules(self.health_timeout_s, self.settle_s if settle_s is None
                           else settle_s, self.poll_s, self.restart_loop_after)

    @property
    def minimums(self) -> Minimums:
        return Minimums(self.min_disk_mb, self.min_memory_mb)


class CancelToken:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class DeployContext:
    services: ServiceContext
    executors: ExecutorProvider
    secrets: SecretReader
    settings: PipelineSettings
    runner: str  # host:pid:nonce of this process

    @property
    def backend(self) -> Backend:
        return self.services.backend

    def clock(self) -> datetime:
        return self.services.clock()

    async def publish(self, event: Event) -> None:
        """Publish; a lost event never stops a deployment (its state is stored)."""
        await self.services.publish([event])


def message_of(exc: BaseException) -> str:
    """What to tell people about ``exc`` (an unexpected one says its type)."""
    if isinstance(exc, WindFlowError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"

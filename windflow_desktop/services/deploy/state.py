"""The state of one run of the deployment core over one deployment."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ...domain.models import Deployment, DeploymentStageRecord, StackRevision, Target
from ...engine.compose import ComposeProject, TargetFacts, TargetPlace
from ...engine.container_state import ContainerState
from ...engine.executor import Executor
from .context import CancelToken
from .logs import LogWriter


@dataclass(frozen=True)
class WatchPlan:
    """What the watch after a success checks: the services, their restart counts as
    health left them, and its stage record (stored running with the success)."""

    services: list[str]
    baseline: dict[str, int]
    record: DeploymentStageRecord


@dataclass
class RunState:
    deployment: Deployment
    target: Target
    revision: StackRevision
    executor: Executor
    logs: LogWriter
    cancel: CancelToken
    values: dict[str, str] = field(default_factory=dict)
    place: TargetPlace | None = None
    facts: TargetFacts | None = None
    project: ComposeProject | None = None
    stage_seq: int = 0
    changed_target: bool = False
    present_images: set[str] | None = None
    watch: WatchPlan | None = None  # set by a success when a watch follows
    healthy: list[ContainerState] = field(default_factory=list)  # as health last saw them
    # Stage records that ended well, stored with the run's next write (the next stage's
    # start or the finish): one transaction per stage transition instead of two.
    ended: list[DeploymentStageRecord] = field(default_factory=list)
    # Deployment fields stored with the first stage's start (status running, runner…).
    opening: dict[str, Any] = field(default_factory=dict)
    # Preflight and validate overlap: validate starts once preflight has located the
    # project (Compose + home) and waits for the host checks before its port check.
    located: asyncio.Event = field(default_factory=asyncio.Event)
    host_checked: asyncio.Event = field(default_factory=asyncio.Event)
    preflight_over: asyncio.Event = field(default_factory=asyncio.Event)

    def compose(self) -> ComposeProject:
        """The run's Compose project (known once preflight located it)."""
        assert self.project is not None, "the project is known after preflight"
        return self.project

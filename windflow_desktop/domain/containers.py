"""What a target's Docker engine says about its containers and images (value types the
windows show)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str
    state: str          # running, exited, created, paused, restarting, dead
    status: str         # "Up 3 minutes", "Exited (0) 2 seconds ago"
    created: datetime | None
    project: str        # compose project ("" when not part of one)
    service: str        # compose service ("" when not part of one)
    ports: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ContainerStats:
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    network_rx_bytes: int
    network_tx_bytes: int


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    size_bytes: int
    created: datetime | None

"""What a target's Docker engine says about its containers, images, volumes and networks,
and what pruning them would do or did (value types the windows show)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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
    """One sample of a container's resource use, as ``docker stats`` computes it: CPU in
    percent of one core (a container busy on two cores shows 200), memory without the
    page cache the kernel can take back, network and block I/O as totals since start."""

    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    network_rx_bytes: int
    network_tx_bytes: int
    block_read_bytes: int = 0
    block_write_bytes: int = 0
    online_cpus: int = 0        # the cores the container may use (0: unknown)
    read_at: float = 0.0        # the engine's time of the sample, seconds since the epoch

    @property
    def memory_percent(self) -> float:
        if self.memory_limit_bytes <= 0:
            return 0.0
        return 100.0 * self.memory_bytes / self.memory_limit_bytes


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    size_bytes: int
    created: datetime | None


# -- disk: images, volumes, networks of a target, and pruning them ---------------------------


class DiskKind(StrEnum):
    """What a removal or a prune works on."""

    IMAGES = "images"
    VOLUMES = "volumes"
    NETWORKS = "networks"

    @property
    def singular(self) -> str:
        return self.value[:-1]


@dataclass(frozen=True)
class ManagedProject:
    """A WindFlow deployment's Compose project: its stack and deployment when this
    workspace knows them, else only the project name (``wf-<slug>-<8 hex>``)."""

    project: str
    stack_name: str = ""
    deployment_id: uuid.UUID | None = None

    def __str__(self) -> str:
        if self.deployment_id is None:
            return (f"the WindFlow project {self.project} (deployed from another workspace "
                    "or server)")
        return (f"stack {self.stack_name or '?'} (deployment {str(self.deployment_id)[:8]}, "
                f"project {self.project})")


@dataclass(frozen=True)
class ImageUsage:
    id: str
    tags: tuple[str, ...]
    size_bytes: int
    unique_bytes: int   # not shared with another image: what removing it frees
    created: datetime | None
    used_by: tuple[str, ...] = ()   # container names, any state

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def name(self) -> str:
        return self.tags[0] if self.tags else self.short_id


@dataclass(frozen=True)
class VolumeUsage:
    name: str
    driver: str
    size_bytes: int | None   # None when the engine does not report it
    created: datetime | None
    used_by: tuple[str, ...] = ()   # container names, any state
    projects: tuple[str, ...] = ()  # Compose projects: its own label and its containers'
    managed: ManagedProject | None = None

    @property
    def protected(self) -> bool:
        """Used by a WindFlow deployment: never pruned, never removed from here."""
        return self.managed is not None


@dataclass(frozen=True)
class NetworkUsage:
    id: str
    name: str
    driver: str
    containers: tuple[str, ...] = ()
    builtin: bool = False   # bridge, host, none: the engine's own, never removed


@dataclass(frozen=True)
class DiskUsage:
    """One reading of a target's images, volumes and networks."""

    images: tuple[ImageUsage, ...]
    volumes: tuple[VolumeUsage, ...]
    networks: tuple[NetworkUsage, ...]
    layers_bytes: int = 0   # the engine's total of image layers on disk


@dataclass(frozen=True)
class PruneItem:
    kind: DiskKind
    id: str
    name: str
    bytes: int   # what removing it frees (0 for a network, or a volume of unknown size)


@dataclass(frozen=True)
class PrunePlan:
    """What a prune would remove, and what it keeps on purpose (name, reason)."""

    kind: DiskKind
    items: tuple[PruneItem, ...]
    kept: tuple[tuple[str, str], ...] = ()

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.items)


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed, the bytes it freed, and what the engine refused
    (name, the engine's words) — in use since the plan was made, for instance."""

    kind: DiskKind
    removed: tuple[str, ...]
    bytes_freed: int
    failed: tuple[tuple[str, str], ...] = ()


def prune_plan(usage: DiskUsage, kind: DiskKind) -> PrunePlan:
    """What pruning ``kind`` removes: images and volumes no container uses (in any
    state), networks no container is attached to (the engine's own ones stay). A volume
    of a WindFlow deployment is kept even when no container uses it, with the reason."""
    if kind is DiskKind.IMAGES:
        return PrunePlan(kind, tuple(PruneItem(kind, i.id, i.name, i.unique_bytes)
                                     for i in usage.images if not i.used_by))
    if kind is DiskKind.NETWORKS:
        return PrunePlan(kind, tuple(PruneItem(kind, n.id, n.name, 0) for n in usage.networks
                                     if not n.builtin and not n.containers))
    unused = [v for v in usage.volumes if not v.used_by]
    return PrunePlan(
        kind,
        tuple(PruneItem(kind, v.name, v.name, v.size_bytes or 0)
              for v in unused if v.managed is None),
        tuple((v.name, f"kept: it belongs to {v.managed}")
              for v in unused if v.managed is not None),
    )

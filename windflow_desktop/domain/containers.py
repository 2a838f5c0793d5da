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
    image_id: str = ""  # the image it runs (a tag may have moved to another since)

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


# -- one container in detail -----------------------------------------------------------------


@dataclass(frozen=True)
class PortMapping:
    """A container port and where the host publishes it (``host_port`` "" when only
    exposed)."""

    container_port: str   # "80/tcp"
    host_ip: str = ""
    host_port: str = ""

    def __str__(self) -> str:
        if not self.host_port:
            return f"{self.container_port} (not published)"
        host = f"{self.host_ip}:" if self.host_ip and self.host_ip not in ("0.0.0.0", "::") \
            else ""
        return f"{host}{self.host_port} → {self.container_port}"


@dataclass(frozen=True)
class MountInfo:
    kind: str          # volume, bind, tmpfs
    source: str        # the volume's name, or the host path of a bind mount
    destination: str   # the path inside the container
    read_only: bool = False

    def __str__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        source = self.source or "(anonymous)"
        return f"{source} → {self.destination} ({self.kind}, {mode})"


@dataclass(frozen=True)
class HealthCheck:
    """One run of the container's health check."""

    started: str
    exit_code: int
    output: str


@dataclass(frozen=True)
class ContainerDetail:
    """What the engine says about one container, for the detail panel; the environment
    comes as the service gave it (secret values masked)."""

    id: str
    name: str
    image: str
    command: str
    state: str
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[MountInfo, ...] = ()
    restart_policy: str = ""
    health: str = ""   # healthy, unhealthy, starting ("" without a health check)
    health_log: tuple[HealthCheck, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()

    @property
    def short_id(self) -> str:
        return self.id[:12]


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _command(info: dict[str, object], config: dict[str, object]) -> str:
    words = _strings(config.get("Entrypoint")) + _strings(config.get("Cmd"))
    if not words and info.get("Path"):
        words = [str(info["Path"]), *_strings(info.get("Args"))]
    return " ".join(f'"{w}"' if not w or " " in w else w for w in words)


def _ports(info: dict[str, object], config: dict[str, object]) -> tuple[PortMapping, ...]:
    """The published ports (the running container's, else the ones asked for), then the
    exposed ones no host port publishes."""
    live = _mapping(_mapping(info.get("NetworkSettings")).get("Ports"))
    wanted = _mapping(_mapping(info.get("HostConfig")).get("PortBindings"))
    bindings = live if any(live.values()) else wanted
    out: list[PortMapping] = []
    for port in sorted(set(bindings) | set(_mapping(config.get("ExposedPorts"))),
                       key=_port_key):
        published = bindings.get(port)
        entries = _dicts(published)
        if not entries:
            out.append(PortMapping(port))
        for binding in entries:
            out.append(PortMapping(port, str(binding.get("HostIp") or ""),
                                   str(binding.get("HostPort") or "")))
    return tuple(out)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _port_key(port: str) -> tuple[int, str]:
    number, _, proto = port.partition("/")
    return (int(number) if number.isdigit() else 0, proto)


def container_detail(info: dict[str, object]) -> ContainerDetail:
    """A ``ContainerDetail`` from the engine's inspect answer (``docker inspect``)."""
    config = _mapping(info.get("Config"))
    state = _mapping(info.get("State"))
    host = _mapping(info.get("HostConfig"))
    health = _mapping(state.get("Health"))
    restart = _mapping(host.get("RestartPolicy"))
    policy = str(restart.get("Name") or "no")
    retries = restart.get("MaximumRetryCount")
    if policy == "on-failure" and isinstance(retries, int) and retries:
        policy = f"{policy} (at most {retries} retries)"
    mounts = tuple(
        MountInfo(str(m.get("Type") or ""), str(m.get("Name") or m.get("Source") or ""),
                  str(m.get("Destination") or ""), not m.get("RW", True))
        for m in _dicts(info.get("Mounts")))
    checks = tuple(
        HealthCheck(str(c.get("Start") or ""), _int(c.get("ExitCode")),
                    str(c.get("Output") or "").strip())
        for c in _dicts(health.get("Log")))
    environment = tuple((name, value) for name, _, value in
                        (entry.partition("=") for entry in _strings(config.get("Env"))))
    return ContainerDetail(
        id=str(info.get("Id") or ""), name=str(info.get("Name") or "").lstrip("/"),
        image=str(config.get("Image") or info.get("Image") or ""),
        command=_command(info, config), state=str(state.get("Status") or ""),
        ports=_ports(info, config), mounts=mounts, restart_policy=policy,
        health=str(health.get("Status") or ""), health_log=checks, environment=environment)


# -- updates: does a newer image stand behind the tag a container runs? --------------------


class UpdateState(StrEnum):
    CURRENT = "current"      # the registry's digest for the tag is the one running
    AVAILABLE = "available"  # the tag points to another image now
    UNKNOWN = "unknown"      # pinned by digest, or built here: nothing to compare
    FAILED = "failed"        # the registry could not tell (``message`` says why)


@dataclass(frozen=True)
class ImageUpdate:
    """One image reference that containers of a target run, against its registry."""

    image: str
    containers: tuple[str, ...]
    projects: tuple[str, ...]
    deployment_ids: tuple[uuid.UUID, ...]
    state: UpdateState
    running: tuple[str, ...] = ()  # the digests the running image has
    latest: str = ""               # the registry's digest for the tag now
    message: str = ""


# -- drift: what runs no longer matches what was deployed ------------------------------------


@dataclass(frozen=True)
class Drift:
    """A WindFlow deployment and how its project on the target differs from what it
    deployed, in words (none: it matches)."""

    deployment_id: uuid.UUID
    project: str
    stack_name: str
    differences: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return bool(self.differences)

"""A Compose project's containers as ``docker inspect`` shows them (``ContainerState``),
with each one's uptime by the target's own clock (``date +%s.%N`` read in the same
command, and Docker's ``State.StartedAt``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CONFIG_HASH_LABEL = "com.docker.compose.config-hash"


@dataclass(frozen=True)
class ContainerState:
    name: str
    service: str
    status: str  # running | exited | restarting | created | paused | dead
    exit_code: int
    health: str | None  # None (no healthcheck) | starting | healthy | unhealthy
    restart_count: int
    ports: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # (proto, host port)
    started_at: str = ""  # State.StartedAt as Docker gives it; changes on every restart
    # Seconds since State.StartedAt by the target's clock, read in the same command before
    # the inspect (so never more than the truth); None when either time was unreadable.
    uptime_s: float | None = None
    # Compose's hash of the service's config as it resolved it when it made the container
    # (the ``com.docker.compose.config-hash`` label) and the id of the image it runs.
    config_hash: str = ""
    image_id: str = ""


_CLOCK = re.compile(r"^\s*(\d+)(\.\d+)?")
_STARTED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def epoch_seconds(text: str) -> float | None:
    """``date +%s.%N`` output; a ``date`` without ``%N`` gives whole seconds (floored: an
    uptime computed from it is never more than the truth)."""
    match = _CLOCK.match(text)
    if match is None:
        return None
    return float(match.group(1) + (match.group(2) or ""))


def started_epoch(text: str) -> float | None:
    """Docker's ``State.StartedAt`` (RFC 3339, nanoseconds) as epoch seconds; None for
    the zero time of a container that never started, or anything unreadable."""
    match = _STARTED.match(text.strip())
    if match is None or text.startswith("0001-"):
        return None
    zone = match.group(3) or "Z"
    if zone == "Z":
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        base = datetime.fromisoformat(match.group(1) + zone)
    except ValueError:
        return None
    fraction = float(match.group(2)) if match.group(2) else 0.0
    return base.astimezone(UTC).timestamp() + fraction


def container_state(raw: Mapping[str, Any], now: float | None = None) -> ContainerState:
    """One container of ``docker inspect``; ``now``: the target's clock (epoch seconds)."""
    state = raw.get("State") or {}
    labels = (raw.get("Config") or {}).get("Labels") or {}
    health = state.get("Health")
    ports: set[tuple[str, int]] = set()
    bindings = ((raw.get("HostConfig") or {}).get("PortBindings")) or {}
    for key, binds in bindings.items():
        proto = key.split("/")[1] if "/" in key else "tcp"
        for bind in binds or ():
            host_port = str((bind or {}).get("HostPort") or "")
            if host_port.isdigit():
                ports.add((proto, int(host_port)))
    return ContainerState(
        name=str(raw.get("Name", "")).lstrip("/"),
        service=str(labels.get("com.docker.compose.service", "")),
        status=str(state.get("Status", "unknown")),
        exit_code=int(state.get("ExitCode") or 0),
        health=str(health.get("Status")) if isinstance(health, dict) else None,
        restart_count=int(raw.get("RestartCount") or 0),
        ports=frozenset(ports),
        started_at=str(state.get("StartedAt") or ""),
        uptime_s=_uptime(now, str(state.get("StartedAt") or "")),
        config_hash=str(labels.get(CONFIG_HASH_LABEL, "")),
        image_id=str(raw.get("Image") or ""),
    )


def _uptime(now: float | None, started_at: str) -> float | None:
    started = started_epoch(started_at)
    if now is None or started is None:
        return None
    return now - started  # may be negative if the clocks disagree: the caller decides

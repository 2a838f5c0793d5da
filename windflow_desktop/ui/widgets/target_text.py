"""How a target and its capabilities read on screen, written once for the Targets page,
the target wizard, the dashboard and the deploy dialog: kind and status in words, the
host, capability labels, versions, and sizes in GB instead of byte counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.enums import TargetKind
from ...domain.models import Target, TargetCapability
from ...domain.words import words

KIND_LABEL = {TargetKind.LOCAL: "This computer", TargetKind.SSH: "SSH",
              TargetKind.DOCKER_TCP: "TCP+TLS"}
CAPABILITY_LABEL = {
    "os": "Operating system", "arch": "Architecture", "cpus": "CPUs", "memory": "Memory",
    "disk": "Disk free", "docker": "Docker engine", "compose_v2": "Compose v2",
    "compose_v1": "Compose v1", "podman": "Podman",
}
DETAIL_LABEL = {"total_bytes": "total", "free_bytes": "free", "available_bytes": "free",
                "used_bytes": "used", "api_version": "API", "path": "path"}


def kind_text(target: Target) -> str:
    return KIND_LABEL.get(target.kind, words(target.kind))


def target_summary(target: Target) -> str:
    """"build box — SSH, online" (the deploy dialog's list of targets)."""
    return f"{target.name} — {kind_text(target)}, {words(target.status)}"


def host_text(target: Target) -> str:
    if target.kind is TargetKind.LOCAL:
        return target.docker_socket or "this computer"
    user = f"{target.username}@" if target.username else ""
    port = f":{target.port}" if target.port else ""
    return f"{user}{target.host}{port}"


def human_size(count: float) -> str:
    """25276203008 → "23.5 GB" (binary units, as ``df -h`` and ``free -h`` show)."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _detail(key: str, value: Any) -> str:
    label = DETAIL_LABEL.get(key, words(key))
    if key.endswith("_bytes") and isinstance(value, int | float):
        return f"{label} {human_size(value)}"
    return f"{label} {value}"


def capability_row(cap: TargetCapability) -> tuple[str, str, str]:
    """(label, version, details) of one capability, for a table row."""
    version = (cap.version or "yes") if cap.available else "not available"
    details: Mapping[str, Any] = cap.details or {}
    text = ", ".join(_detail(k, v) for k, v in details.items() if v not in ("", None))
    return CAPABILITY_LABEL.get(cap.kind, words(cap.kind)), version, text

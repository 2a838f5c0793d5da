"""The preflight checks of a target, one list for the deployment run and the preview:
a Compose present, enough free disk and available memory."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.models import PreflightCheck
from .compose import HostFacts, TargetPlace


@dataclass(frozen=True)
class Minimums:
    disk_mb: int = 200
    memory_mb: int = 32


def compose_check(place: TargetPlace) -> PreflightCheck:
    if place.compose is None:
        return PreflightCheck("compose", False, "neither Docker Compose v2 (docker compose) "
                              "nor v1 (docker-compose): install one of them on the target")
    return PreflightCheck("compose", True, f"Compose {place.compose} {place.compose_version}")


def host_checks(host: HostFacts, minimums: Minimums) -> list[PreflightCheck]:
    """Disk and memory against ``minimums`` (a figure the target did not give is not
    checked)."""
    checks: list[PreflightCheck] = []
    if host.disk_free_mb is not None:
        checks.append(PreflightCheck(
            "disk", host.disk_free_mb >= minimums.disk_mb,
            f"{host.disk_free_mb} MB of disk free (at least {minimums.disk_mb} MB needed)"))
    if host.memory_available_mb is not None:
        checks.append(PreflightCheck(
            "memory", host.memory_available_mb >= minimums.memory_mb,
            f"{host.memory_available_mb} MB of memory available "
            f"(at least {minimums.memory_mb} MB needed)"))
    return checks

"""The capability scan: what a target can run.

For a machine with a shell (local, ssh) one POSIX ``sh`` script runs in one session and
prints every fact in a marked section: OS and kernel, architecture, CPUs, memory, disk
free, the Docker engine and API version, Compose v2 (``docker compose``) and v1
(``docker-compose``), Podman. For a ``docker_tcp`` target there is no shell: the facts
come from the Engine API, and Compose is what this computer has (it runs here against
the remote engine). ``scan_many`` scans many targets concurrently with a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..domain.enums import TargetKind
from ..domain.models import Target, TargetCapability
from .errors import DockerUnavailableError
from .pool import ExecutorPool

T = TypeVar("T")

SCAN_TIMEOUT_S = 60.0

SCAN_SCRIPT = r"""
echo @@uname; uname -s; uname -r; uname -m
echo @@os; grep -E '^(PRETTY_NAME|ID|VERSION_ID)=' /etc/os-release 2>/dev/null
echo @@cpus; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null
echo @@mem; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo 2>/dev/null
echo @@disk; df -Pk / 2>/dev/null | tail -n 1
echo @@docker_host; printf '%s\n' "${DOCKER_HOST:-}"
echo @@docker; docker version --format '{{json .}}' 2>&1; echo "@rc=$?"
echo @@compose2; docker compose version --short 2>&1; echo "@rc=$?"
echo @@compose1; docker-compose version --short 2>&1; echo "@rc=$?"
echo @@podman; podman --version 2>&1; echo "@rc=$?"
""".strip()

CAPABILITY_KINDS = ("os", "arch", "cpus", "memory", "disk", "docker", "compose_v2",
                    "compose_v1", "podman")


@dataclass(frozen=True)
class ScanResult:
    capabilities: tuple[TargetCapability, ...]
    docker_host: str = ""

    def get(self, kind: str) -> TargetCapability | None:
        return next((c for c in self.capabilities if c.kind == kind), None)

    @property
    def docker_version(self) -> str:
        docker = self.get("docker")
        return docker.version if docker and docker.available else ""


async def scan_target(pool: ExecutorPool, target: Target,
                      *, timeout: float = SCAN_TIMEOUT_S) -> ScanResult:  # noqa: ASYNC109
    """Scan one target; reaching it may raise ``TargetUnreachableError`` and friends.
    A target without Docker is *scanned* (docker: available=False with the reason)."""
    if target.kind is TargetKind.DOCKER_TCP:
        return await _scan_api(pool, target, timeout)
    executor = await pool.executor(target)
    result = await executor.run(SCAN_SCRIPT, timeout=timeout)
    return parse_scan(target.id, result.stdout)


async def _scan_api(pool: ExecutorPool, target: Target, timeout: float  # noqa: ASYNC109
                    ) -> ScanResult:
    async with pool.docker(target) as api:
        version, info = await asyncio.gather(api.version(), api.info())
    caps = [
        _cap(target.id, "os", True, str(info.get("OperatingSystem", "")),
             {"kernel": info.get("KernelVersion", ""), "id": info.get("OSType", "")}),
        _cap(target.id, "arch", True, str(info.get("Architecture", ""))),
        _cap(target.id, "cpus", True, str(info.get("NCPU", ""))),
        _cap(target.id, "memory", True, _human(int(info.get("MemTotal") or 0)),
             {"total_bytes": int(info.get("MemTotal") or 0)}),
        _cap(target.id, "disk", False, "", {"reason": "not reported by the Engine API"}),
        _docker_cap(target.id, version),
    ]
    # Compose runs on this computer against the remote engine: scan it here.
    local = pool.local_executor(target, "this computer")
    here = await local.run(SCAN_SCRIPT, timeout=timeout)
    parsed = parse_scan(target.id, here.stdout)
    for kind in ("compose_v2", "compose_v1"):
        cap = parsed.get(kind)
        if cap is not None:
            cap.details["where"] = "this computer"
            caps.append(cap)
    caps.append(_cap(target.id, "podman", "podman" in str(version.get("Platform", {}))
                     .lower(), "", {}))
    return ScanResult(tuple(caps))


def parse_scan(target_id: uuid.UUID, output: str) -> ScanResult:
    """The capabilities in the scan script's output."""
    sections = _sections(output)
    uname = sections.get("uname", [])
    kernel = uname[1] if len(uname) > 1 else ""
    os_release = dict(_kv(line) for line in sections.get("os", []) if "=" in line)
    caps = [
        _cap(target_id, "os", bool(uname),
             os_release.get("PRETTY_NAME") or (uname[0] if uname else ""),
             {"kernel": kernel, "system": uname[0] if uname else "",
              "id": os_release.get("ID", ""), "version_id": os_release.get("VERSION_ID", "")}),
        _cap(target_id, "arch", len(uname) > 2, uname[2] if len(uname) > 2 else ""),
    ]
    cpus = _first(sections.get("cpus"))
    caps.append(_cap(target_id, "cpus", cpus.isdigit(), cpus if cpus.isdigit() else ""))
    mem = {k: int(v.split()[0]) * 1024 for k, v in
           (_kv(line, ":") for line in sections.get("mem", [])) if v.split()[0].isdigit()}
    caps.append(_cap(target_id, "memory", "MemTotal" in mem, _human(mem.get("MemTotal", 0)),
                     {"total_bytes": mem.get("MemTotal", 0),
                      "available_bytes": mem.get("MemAvailable", 0)}))
    disk = _first(sections.get("disk")).split()
    if len(disk) >= 6 and disk[3].isdigit():
        free, total = int(disk[3]) * 1024, int(disk[1]) * 1024
        caps.append(_cap(target_id, "disk", True, _human(free),
                         {"free_bytes": free, "total_bytes": total, "path": disk[5]}))
    else:
        caps.append(_cap(target_id, "disk", False, ""))
    caps.append(_parse_docker(target_id, sections.get("docker", [])))
    caps.append(_parse_tool(target_id, "compose_v2", sections.get("compose2", [])))
    caps.append(_parse_tool(target_id, "compose_v1", sections.get("compose1", [])))
    caps.append(_parse_tool(target_id, "podman", sections.get("podman", []),
                            strip="podman version "))
    return ScanResult(tuple(caps), _first(sections.get("docker_host")))


def _docker_cap(target_id: uuid.UUID, version: Mapping[str, Any]) -> TargetCapability:
    return _cap(target_id, "docker", True, str(version.get("Version", "")),
                {"api_version": version.get("ApiVersion", ""),
                 "min_api_version": version.get("MinAPIVersion", ""),
                 "os": version.get("Os", ""), "arch": version.get("Arch", ""),
                 "platform": (version.get("Platform") or {}).get("Name", "")})


def _parse_docker(target_id: uuid.UUID, lines: list[str]) -> TargetCapability:
    rc = _rc(lines)
    body = [line for line in lines if not line.startswith("@rc=")]
    data: dict[str, Any] = {}
    for line in body:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
            break
    client = data.get("Client") or {}
    server = data.get("Server") or {}
    if rc == 127 or (not data and rc != 0 and "not found" in " ".join(body)):
        return _cap(target_id, "docker", False, "",
                    {"reason": "the docker command is not installed"})
    if not server:
        errors = [line for line in body if not line.startswith("{") and line.strip()]
        return _cap(target_id, "docker", False, "", {
            "client_version": client.get("Version", ""),
            "reason": " ".join(errors)[:500] or "the Docker engine did not answer",
        })
    details = {"api_version": server.get("ApiVersion", ""),
               "min_api_version": server.get("MinAPIVersion", ""),
               "client_version": client.get("Version", ""),
               "os": server.get("Os", ""), "arch": server.get("Arch", ""),
               "platform": (server.get("Platform") or {}).get("Name", "")}
    return _cap(target_id, "docker", True, str(server.get("Version", "")), details)


def _parse_tool(target_id: uuid.UUID, kind: str, lines: list[str],
                strip: str = "") -> TargetCapability:
    rc = _rc(lines)
    body = [line.strip() for line in lines if not line.startswith("@rc=") and line.strip()]
    if rc == 0 and body:
        version = body[-1].removeprefix(strip).removeprefix("v")
        return _cap(target_id, kind, True, version)
    text = " ".join(body).lower()
    if rc == 127 or not body or "unknown command" in text or "not a docker command" in text \
            or "docker --help" in text:
        reason = "not installed"
    else:
        reason = body[-1][:300]
    return _cap(target_id, kind, False, "", {"reason": reason})


def _sections(output: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@@"):
            current = sections.setdefault(line[2:].strip(), [])
        elif current is not None:
            current.append(line)
    return sections


def _rc(lines: list[str]) -> int:
    for line in reversed(lines):
        if line.startswith("@rc="):
            value = line[4:].strip()
            return int(value) if value.lstrip("-").isdigit() else -1
    return -1


def _kv(line: str, sep: str = "=") -> tuple[str, str]:
    key, _, value = line.partition(sep)
    return key.strip(), value.strip().strip('"')


def _first(lines: list[str] | None) -> str:
    return lines[0].strip() if lines else ""


def _cap(target_id: uuid.UUID, kind: str, available: bool, version: str = "",
         details: dict[str, Any] | None = None) -> TargetCapability:
    return TargetCapability(target_id=target_id, kind=kind, available=available,
                            version=version, details=dict(details or {}))


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{size} B"


def require_docker(result: ScanResult) -> None:
    """Raise ``DockerUnavailableError`` (with the reason) when the scan found no engine."""
    docker = result.get("docker")
    if docker is None or not docker.available:
        reason = docker.details.get("reason", "") if docker else ""
        raise DockerUnavailableError(
            "the target is reachable but Docker is not usable there"
            + (f": {reason}" if reason else "")
            + ". Install and start Docker, and let this user use it (docker group)."
        )


async def bounded(items: Iterable[T], worker: Callable[[T], Awaitable[Any]],
                  limit: int) -> list[Any]:
    """Run ``worker`` over ``items`` with at most ``limit`` at once; results (or the
    exceptions raised) in order. Cancelling the caller cancels every worker."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(item: T) -> Any:
        async with semaphore:
            try:
                return await worker(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(one(i) for i in items)))

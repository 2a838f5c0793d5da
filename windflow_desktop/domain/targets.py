"""Value types about targets that the windows show: what a person enters for a target,
the steps of a connection test, a scan's outcome, a health check's result."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from .enums import TargetAuth, TargetKind, TargetStatus
from .models import Target, TargetCapability

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True)
class StepResult:
    key: str           # resolve, tcp, ssh, tls, engine, docker
    title: str
    state: str         # ok | failed | skipped
    duration_ms: float = 0.0
    message: str = ""  # what was found, or what went wrong and what to fix
    code: str = ""     # the error code when failed


@dataclass(frozen=True)
class ConnectionReport:
    steps: tuple[StepResult, ...]
    status: TargetStatus
    engine_version: str = ""

    @property
    def ok(self) -> bool:
        return self.status is TargetStatus.ONLINE

    @property
    def error(self) -> str:
        failed = [s for s in self.steps if s.state == FAILED]
        return failed[0].message if failed else ""


@dataclass(frozen=True)
class TargetSpec:
    """What the user enters for a target (no secret here: it is passed separately)."""

    name: str
    kind: TargetKind = TargetKind.LOCAL
    host: str = ""
    port: int | None = None
    username: str = ""
    auth: TargetAuth = TargetAuth.NONE
    key_file: str = ""        # ssh, key auth: the private key file
    docker_socket: str = ""   # local: the engine's socket (detected when empty);
    #                           ssh: the remote socket (the login's DOCKER_HOST when empty)
    ca_file: str = ""         # docker_tcp with TLS
    cert_file: str = ""
    client_key_file: str = ""
    insecure: bool = False    # docker_tcp without TLS: only by explicit choice
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, target: Target) -> TargetSpec:
        tls = target.tls or {}
        return cls(
            name=target.name, kind=target.kind, host=target.host, port=target.port,
            username=target.username, auth=target.auth,
            key_file=str(tls.get("ssh_key_file") or ""),
            docker_socket=target.docker_socket or "",
            ca_file=str(tls.get("ca_file") or ""), cert_file=str(tls.get("cert_file") or ""),
            client_key_file=str(tls.get("key_file") or ""),
            insecure=bool(tls.get("insecure")), labels=dict(target.labels or {}),
        )


@dataclass(frozen=True)
class HealthResult:
    target_id: uuid.UUID
    status: TargetStatus
    changed: bool
    error: str = ""
    last_seen: datetime | None = None


@dataclass(frozen=True)
class ScanOutcome:
    target: Target
    capabilities: tuple[TargetCapability, ...]

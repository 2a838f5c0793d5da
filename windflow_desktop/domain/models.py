"""Domain entities as plain dataclasses.

The SQL backend maps these classes onto tables (imperative mapping in
``repositories/sql/tables.py``), so the domain itself imports nothing of the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .enums import (
    DeploymentStage,
    DeploymentStatus,
    LogStream,
    Role,
    TargetAuth,
    TargetKind,
    TargetStatus,
    UpdatePolicy,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


@dataclass(eq=False)
class Organization:
    name: str
    slug: str
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class User:
    username: str
    email: str
    password_hash: str = ""
    full_name: str = ""
    is_active: bool = True
    is_superuser: bool = False
    last_login: datetime | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Membership:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: Role = Role.VIEWER
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Target:
    organization_id: uuid.UUID
    name: str
    kind: TargetKind = TargetKind.LOCAL
    host: str = ""
    port: int | None = None
    username: str = ""
    auth: TargetAuth = TargetAuth.NONE
    secret_ref: str | None = None
    docker_socket: str | None = None
    tls: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    status: TargetStatus = TargetStatus.UNKNOWN
    last_seen: datetime | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class TargetCapability:
    target_id: uuid.UUID
    kind: str
    available: bool
    version: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    scanned_at: datetime = field(default_factory=utcnow)
    id: uuid.UUID = field(default_factory=new_id)


@dataclass(eq=False)
class Stack:
    organization_id: uuid.UUID
    name: str
    slug: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    archived_at: datetime | None = None
    current_revision: int = 0
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    # Someone with stacks:write said "this stack needs host access": only then may a
    # revision with host paths, privileged mode, host namespaces, devices or added
    # capabilities be deployed (see ``ComposeReport.host_access``).
    host_access: bool = False
    # When an image its deployments run has an update: notify, update automatically
    # (staged over its targets, acting as ``update_policy_by``: who chose it), or ignore.
    update_policy: UpdatePolicy = UpdatePolicy.NOTIFY
    update_policy_by: uuid.UUID | None = None


@dataclass(eq=False)
class StackRevision:
    stack_id: uuid.UUID
    number: int
    compose_yaml: str
    variables: list[dict[str, Any]] = field(default_factory=list)
    author_id: uuid.UUID | None = None
    message: str = ""
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Deployment:
    organization_id: uuid.UUID
    stack_id: uuid.UUID
    revision_id: uuid.UUID
    target_id: uuid.UUID
    project_name: str
    variables: dict[str, Any] = field(default_factory=dict)
    status: DeploymentStatus = DeploymentStatus.PENDING
    stage: DeploymentStage | None = None
    error: str | None = None
    actor_id: uuid.UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    # The process running it ("host:pid") and when it last said so: start-up
    # reconciliation leaves alone a deployment that another live window runs.
    runner: str | None = None
    heartbeat_at: datetime | None = None
    # The number of ``revision_id`` (read with the row, never written).
    revision_number: int = 0
    # Pull every image again, even those the target has (an update: a newer image
    # behind the same tag); otherwise only the missing ones are pulled.
    pull_images: bool = False
    # The fencing token: bumped by every claim of the deployment by a worker; a write
    # carrying an older attempt is refused (a stale worker's writes never land).
    attempt: int = 0
    # What its services' containers got from ``up`` (read from them once healthy, by
    # service): Compose's ``com.docker.compose.config-hash`` label and the image id. A
    # container that later carries another hash or runs another image was changed by
    # hand (the drift check compares; empty for deployments made before it was kept).
    config_hashes: dict[str, str] = field(default_factory=dict)
    image_ids: dict[str, str] = field(default_factory=dict)
    # When someone asked a worker's run of it to stop (server mode: the worker reads it
    # while it runs and stops at the next safe point; a window's own run is told at once).
    cancel_requested_at: datetime | None = None


@dataclass(frozen=True)
class PreviousValues:
    """The values the deployment that runs (or ran last) of a stack on a target used:
    plain ones as they were, secrets by name only (kept, never shown: a deploy that leaves
    one empty keeps it)."""

    plain: dict[str, str] = field(default_factory=dict)
    kept_secrets: frozenset[str] = frozenset()


@dataclass(eq=False)
class DeploymentLog:
    deployment_id: uuid.UUID
    seq: int
    line: str
    stream: LogStream = LogStream.STDOUT
    ts: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class DeploymentStageRecord:
    """One stage of a deployment run: when it started and ended, and how it went.

    ``stage`` is a ``DeploymentStage`` value or a step outside the happy path
    (``rollback``, ``reconcile``, ``stop``, ``start``, ``remove``); ``outcome`` is
    ``running``, ``succeeded``, ``failed``, ``skipped`` or ``cancelled``.
    """

    deployment_id: uuid.UUID
    seq: int
    stage: str
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    outcome: str = "running"
    detail: str = ""


@dataclass(eq=False)
class AuditEvent:
    type: str
    aggregate_type: str
    aggregate_id: str
    organization_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=new_id)
    ts: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class RevisionDiff:
    old: int
    new: int
    compose: str  # unified diff of the Compose text
    variables: str  # unified diff of the variables spec (as YAML)

    @property
    def unchanged(self) -> bool:
        return not self.compose and not self.variables


@dataclass(frozen=True)
class PreflightCheck:
    """One check of a deploy preview: what was checked, whether it passed, and the figure
    or reason (``"Compose v2 2.29.1"``, ``"port 8080/tcp in use"``)."""

    name: str  # compose | disk | memory | files | port
    ok: bool
    detail: str


@dataclass(frozen=True)
class DeployPreview:
    """Preflight checks of a revision on one target and its ``compose config`` output
    (empty when Compose could not run there)."""

    target_name: str
    checks: tuple[PreflightCheck, ...]
    config: str  # secret values masked
    host_access: tuple[str, ...] = ()  # the grants the revision needs ("web: privileged")

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class HostKeyPrompt:
    """What the user is asked about a new host."""

    host: str
    port: int
    key_type: str
    fingerprint: str  # "SHA256:…"

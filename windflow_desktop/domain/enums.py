"""Enumerations of the domain; values are what the database and events carry."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class TargetKind(StrEnum):
    LOCAL = "local"
    SSH = "ssh"
    DOCKER_TCP = "docker_tcp"


class TargetAuth(StrEnum):
    NONE = "none"
    AGENT = "agent"
    KEY = "key"
    PASSWORD = "password"


class TargetStatus(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"
    ERROR = "error"


class UpdatePolicy(StrEnum):
    """What happens when a newer image stands behind a tag a stack's deployments run:
    told (``notify``), deployed one target after the other (``auto``), or not even told
    (``ignore``)."""

    NOTIFY = "notify"
    AUTO = "auto"
    IGNORE = "ignore"


class DeploymentStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    STOPPED = "stopped"
    REMOVED = "removed"

    @property
    def is_terminal(self) -> bool:
        return self not in ACTIVE_DEPLOYMENT


# Not ended yet: waiting for its pipeline, or in it.
ACTIVE_DEPLOYMENT = (DeploymentStatus.PENDING, DeploymentStatus.RUNNING)


class DeploymentStage(StrEnum):
    PREFLIGHT = "preflight"
    VALIDATE = "validate"
    PULL = "pull"
    UP = "up"
    HEALTH = "health"
    DONE = "done"


class LogStream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    SYSTEM = "system"

"""Reaching targets: executors (local process, SSH), the Docker Engine API, the
connection test, the capability scan and the health monitor. No Qt here."""

from ..domain.models import HostKeyPrompt
from .docker_api import DockerApi
from .errors import (
    CommandTimeoutError,
    ConnectionDroppedError,
    DockerApiError,
    DockerUnavailableError,
    HostKeyChangedError,
    HostKeyRejectedError,
    TargetAuthError,
    TlsError,
    status_for,
)
from .executor import CommandResult, Executor, LocalExecutor
from .pool import EngineSettings, ExecutorPool
from .probe import check_connection
from .scanner import ScanResult, scan_target
from .ssh import HostKeyConfirm, KnownHosts, SshSettings, SshTarget

__all__ = [
    "CommandResult", "CommandTimeoutError", "ConnectionDroppedError", "DockerApi",
    "DockerApiError", "DockerUnavailableError", "EngineSettings", "Executor", "ExecutorPool",
    "HostKeyChangedError", "HostKeyConfirm", "HostKeyPrompt",
    "HostKeyRejectedError", "KnownHosts", "LocalExecutor", "ScanResult", "SshSettings",
    "SshTarget", "TargetAuthError", "TlsError", "check_connection", "scan_target", "status_for",
]

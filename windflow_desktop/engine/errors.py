"""Errors of reaching a target, each with a message that says what to fix, and the
target status each one means (``status_for``)."""

from __future__ import annotations

from ..domain.enums import TargetStatus
from ..domain.errors import TargetUnreachableError, WindFlowError


class TargetAuthError(TargetUnreachableError):
    """The host answered but refused the user, key, passphrase or password."""

    code = "TARGET_AUTH_FAILED"


class HostKeyChangedError(TargetUnreachableError):
    """The host presented a key other than the one trusted before: refused."""

    code = "HOST_KEY_CHANGED"


class HostKeyRejectedError(TargetUnreachableError):
    """A new host's key was not accepted by the user (or nobody could be asked)."""

    code = "HOST_KEY_NOT_TRUSTED"


class ConnectionDroppedError(TargetUnreachableError):
    """The connection to the target was lost while a command or request was running."""

    code = "CONNECTION_DROPPED"


class TlsError(TargetUnreachableError):
    """The TLS handshake with a Docker engine failed (CA, certificate, key)."""

    code = "TLS_FAILED"


class CommandTimeoutError(WindFlowError):
    """A command on a target did not finish within its timeout (it was stopped)."""

    code = "COMMAND_TIMEOUT"


class DockerUnavailableError(WindFlowError):
    """The target is reachable but its Docker engine is not (missing, stopped, no rights)."""

    code = "DOCKER_UNAVAILABLE"


class DockerApiError(WindFlowError):
    """The Docker engine refused a request; ``status`` is its HTTP status."""

    code = "DOCKER_API_ERROR"

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def status_for(exc: BaseException) -> TargetStatus:
    """The status a target gets when reaching it failed with ``exc``: ``offline`` when it
    could not be reached at all, ``error`` when it answered but something is wrong."""
    if isinstance(exc, TargetAuthError | HostKeyChangedError | HostKeyRejectedError | TlsError):
        return TargetStatus.ERROR
    if isinstance(exc, DockerUnavailableError | DockerApiError):
        return TargetStatus.ERROR
    if isinstance(exc, TargetUnreachableError | CommandTimeoutError | TimeoutError | OSError):
        return TargetStatus.OFFLINE
    return TargetStatus.ERROR

"""Errors of reaching a target — the classes live in the domain's error tree (so a client
of a server reads the same kinds back) — and the target status each one means
(``status_for``)."""

from __future__ import annotations

from ..domain.enums import TargetStatus
from ..domain.errors import (
    CommandTimeoutError,
    ConnectionDroppedError,
    DockerApiError,
    DockerUnavailableError,
    HostKeyChangedError,
    HostKeyRejectedError,
    TargetAuthError,
    TargetUnreachableError,
    TlsError,
)

__all__ = ["CommandTimeoutError", "ConnectionDroppedError", "DockerApiError",
           "DockerUnavailableError", "HostKeyChangedError", "HostKeyRejectedError",
           "TargetAuthError", "TlsError", "status_for"]


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

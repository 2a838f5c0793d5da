"""The one error tree of WindFlow Desktop; every error has a stable ``code``."""

from __future__ import annotations

import math

# The code of the error that says a session was ended elsewhere (signed out everywhere,
# a password change, a revoked token): the window signs out and says why.
SESSION_ENDED = "SESSION_ENDED"


class WindFlowError(Exception):
    """Base of every expected error; ``message`` is for people, ``code`` for programs."""

    code = "WINDFLOW_ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class SecretStoreUnavailable(WindFlowError):
    """No usable keyring: secrets cannot be kept across restarts."""

    code = "SECRET_STORE_UNAVAILABLE"


class QueueUnavailableError(WindFlowError):
    """The job queue (a server's Redis) cannot be reached: a deployment cannot be queued."""

    code = "QUEUE_UNAVAILABLE"


class ConfigurationError(WindFlowError):
    """A setting, the settings file or the data folder is unusable."""

    code = "CONFIGURATION_ERROR"


class StorageError(WindFlowError):
    """The workspace database cannot be opened, migrated or reached."""

    code = "STORAGE_ERROR"


class ValidationError(WindFlowError):
    """Input that breaks a rule; ``field`` names the offending field when there is one."""

    code = "VALIDATION_ERROR"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(WindFlowError):
    code = "NOT_FOUND"

    def __init__(self, resource: str, resource_id: object, *,
                 message: str | None = None) -> None:
        super().__init__(message or f"{resource} {resource_id} was not found")
        self.resource = resource
        self.resource_id = resource_id


class PermissionDeniedError(WindFlowError):
    code = "PERMISSION_DENIED"


class AuthenticationError(WindFlowError):
    code = "AUTHENTICATION_FAILED"


class LoginLockedError(AuthenticationError):
    """Too many failed attempts: ``retry_after_s`` says how long to wait."""

    code = "LOGIN_LOCKED"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed sign-in attempts: try again in {_human_wait(retry_after_s)}"
        )
        self.retry_after_s = retry_after_s


def _human_wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ConflictError(WindFlowError):
    code = "CONFLICT"


class StaleAttemptError(ConflictError):
    """A write by a worker whose claim of the deployment another worker took over."""

    code = "STALE_ATTEMPT"


class TargetUnreachableError(WindFlowError):
    code = "TARGET_UNREACHABLE"


# Reaching a target (raised by the engine; here so every layer — and a server's client —
# knows the same kinds).
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


class DeploymentError(WindFlowError):
    code = "DEPLOYMENT_FAILED"


class Cancelled(Exception):
    """A run was asked to stop and stopped at a safe point (``str``: why)."""


# The HTTP status each kind of error is answered with (the server) and read back as (the
# desktop in remote mode): the most specific kind first.
HTTP_STATUS: tuple[tuple[type[WindFlowError], int], ...] = (
    (LoginLockedError, 429),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ValidationError, 422),
    (TargetUnreachableError, 502),
    (QueueUnavailableError, 503),
)


def http_status(exc: WindFlowError | type[WindFlowError]) -> int:
    """The status ``exc`` (or any error of that kind) is answered with (400 for any other
    expected error)."""
    kind = exc if isinstance(exc, type) else type(exc)
    return next((status for parent, status in HTTP_STATUS if issubclass(kind, parent)), 400)


def kind_of(code: str) -> type[WindFlowError] | None:
    """The kind of this tree that answers with ``code`` (how a server's client reads an
    error back as the same class it was raised as); None for a code of no kind here."""
    return _KINDS.get(code)


_KINDS: dict[str, type[WindFlowError]] = {}
for _kind in list(globals().values()):
    if isinstance(_kind, type) and issubclass(_kind, WindFlowError):
        _KINDS.setdefault(_kind.code, _kind)  # the first defined: a subclass may reuse a code

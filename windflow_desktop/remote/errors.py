"""A server's answer as the domain's error (the same words and codes as in local mode,
so every dialog says the same), and what to say when the server cannot be reached."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from ..domain.errors import (
    AuthenticationError,
    ConflictError,
    DockerApiError,
    LoginLockedError,
    NotFoundError,
    PermissionDeniedError,
    TargetUnreachableError,
    ValidationError,
    WindFlowError,
    http_status,
    kind_of,
)


class ServerUnreachableError(WindFlowError):
    code = "SERVER_UNREACHABLE"


def from_response(response: httpx.Response) -> WindFlowError:
    """The domain error a 4xx/5xx answer carries (``{"error", "message", "details"}``)."""
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    code = str(body.get("error") or f"HTTP_{response.status_code}")
    message = str(body.get("message") or f"the server answered {response.status_code}")
    raw_details = body.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    status = response.status_code
    kind = kind_of(code)
    if (kind is not None and kind.__init__ is WindFlowError.__init__
            and status == http_status(kind)):
        return kind(message, code=code)  # e.g. DOCKER_UNAVAILABLE, HOST_KEY_CHANGED, as raised
    if kind is DockerApiError and status == 400:
        return DockerApiError(message, int(details.get("status") or 0))
    if status == 429:
        return LoginLockedError(int(details.get("retry_after_s", 60)))
    if status == 401:
        return AuthenticationError(message, code=code)
    if status == 403:
        return PermissionDeniedError(message, code=code)
    if status == 404:
        return NotFoundError("object", None, message=message)
    if status == 409:
        return ConflictError(message, code=code)
    if status in (400, 413, 422):
        error = ValidationError(message, field=details.get("field"))
        error.code = code
        return error
    if status == 502:
        return TargetUnreachableError(message, code=code)
    return WindFlowError(f"the server failed ({status}): {message}", code=code)


def from_transport(exc: httpx.TransportError, url: str) -> ServerUnreachableError:
    """A connection that never got an answer, in words, with what to do."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ServerUnreachableError(
                f"{url} presented a certificate this computer does not trust "
                f"({cause.verify_message}): give the server's CA file in the sign-in "
                "dialog, or ask its admin for the right address", code="TLS_UNTRUSTED")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnreachableError(f"{url} did not answer in time: is it running, and "
                                      "is the address right?")
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return ServerUnreachableError(f"cannot reach {url} ({detail}): is the server running, "
                                  "and is the address right?")

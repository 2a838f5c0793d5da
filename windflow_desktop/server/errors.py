"""The domain's error tree as HTTP: one status per kind, one body for all —
``{"error": code, "message": words for people, "details": {...}}``; bad input is never a
500."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain.errors import (
    DockerApiError,
    LoginLockedError,
    ValidationError,
    WindFlowError,
    http_status,
)

log = logging.getLogger("windflow.server")

_HTTP_CODES = {400: "BAD_REQUEST", 401: "AUTHENTICATION_FAILED", 404: "NOT_FOUND",
               405: "METHOD_NOT_ALLOWED", 413: "TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


def error_body(code: str, message: str, details: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def install(app: FastAPI) -> None:
    @app.exception_handler(WindFlowError)
    async def domain_error(request: Request, exc: WindFlowError) -> JSONResponse:
        status = http_status(exc)
        details: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if isinstance(exc, ValidationError) and exc.field:
            details["field"] = exc.field
        if isinstance(exc, DockerApiError):
            details["status"] = exc.status
        if isinstance(exc, LoginLockedError):
            details["retry_after_s"] = exc.retry_after_s
            headers["Retry-After"] = str(exc.retry_after_s)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(error_body(exc.code, exc.message, details), status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"where": ".".join(str(p) for p in e.get("loc", ())),
                     "problem": str(e.get("msg", ""))} for e in exc.errors()[:20]]
        first = problems[0] if problems else {"where": "", "problem": "invalid request"}
        details: dict[str, Any] = {"problems": problems}
        if (field := _field(exc.errors())) is not None:
            details["field"] = field  # the client's ValidationError names it, as locally
        return JSONResponse(error_body(
            "VALIDATION_ERROR", f"{first['where']}: {first['problem']}".lstrip(": "),
            details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(error_body("INTERNAL_ERROR", "the server failed to answer this "
                                       "request; its log says why"), 500)


def _field(errors: Sequence[Any]) -> str | None:
    """The request's field the first problem is in (``("body", "tags", 3)`` → ``tags``,
    ``("query", "limit")`` → ``limit``); None when it is the body as a whole."""
    loc: Sequence[Any] = errors[0].get("loc", ()) if errors else ()
    name = loc[1] if len(loc) > 1 else None
    return name if isinstance(name, str) else None

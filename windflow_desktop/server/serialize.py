"""Domain objects as JSON, with what must never leave the server left out: password
hashes, secret references (a target says ``has_secret``), secret variable values (a
deployment names them only)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from ..domain.identity import Member
from ..domain.models import Deployment, DeploymentStageRecord, Membership, Stack, Target, User
from ..domain.paging import Page
from ..services.deploy.values import secret_ref

T = TypeVar("T")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """JSON-ready: ids and enums as strings, times in ISO 8601, containers walked."""
    if type(value) in _SCALARS:  # the most common case first (exact types: not an enum)
        return value
    if isinstance(value, uuid.UUID | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def _fields(obj: Any, *leave_out: str) -> dict[str, Any]:
    return {name: plain(getattr(obj, name)) for name in _names(type(obj), leave_out)}


_NAMES: dict[tuple[type, tuple[str, ...]], tuple[str, ...]] = {}


def _names(cls: type, leave_out: tuple[str, ...]) -> tuple[str, ...]:
    """A dataclass's field names, in order, without ``leave_out`` (found once a class:
    ``dataclasses.fields`` on every object of every page was a tenth of a list's cost)."""
    names = _NAMES.get((cls, leave_out))
    if names is None:
        names = _NAMES[cls, leave_out] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in leave_out)
    return names


def target_json(target: Target) -> dict[str, Any]:
    # ``tls`` holds the paths of key and certificate files on the server and the
    # insecure flag (engine/pool.py), never key material: an editor needs them back
    # (``TargetSpec.of``), or every edit of a key-auth or client-certificate target is
    # refused for a missing key file.
    out = _fields(target, "secret_ref")
    out["has_secret"] = target.secret_ref is not None
    return out


def stack_json(stack: Stack) -> dict[str, Any]:
    return _fields(stack)


def deployment_json(dep: Deployment) -> dict[str, Any]:
    out = _fields(dep, "variables", "runner", "heartbeat_at")
    out["variables"] = {k: v for k, v in plain(dep.variables).items()
                        if secret_ref(dep.variables[k]) is None}
    out["secret_variables"] = sorted(k for k, v in dep.variables.items()
                                     if secret_ref(v) is not None)
    return out


def stage_json(record: DeploymentStageRecord) -> dict[str, Any]:
    return _fields(record)


def user_json(user: User) -> dict[str, Any]:
    return _fields(user, "password_hash")


def member_json(member: Member) -> dict[str, Any]:
    """A user as a member of one organization (no password hash)."""
    out = _fields(member, "user")
    out["user"] = user_json(member.user)
    return out


def membership_json(membership: Membership) -> dict[str, Any]:
    return _fields(membership)


def page_json(page: Page[T], to_json: Callable[[T], Any] = plain) -> dict[str, Any]:
    """A page as ``{"items": [...], "next_cursor": ...}``, each item through ``to_json``."""
    return {"items": [to_json(item) for item in page.items], "next_cursor": page.next_cursor}


_SHARED: dict[tuple[int, Callable[[Any], Any]], tuple[Page[Any], dict[str, Any]]] = {}
_SHARED_MAX = 32


def shared_page_json(page: Page[T], to_json: Callable[[T], Any]) -> dict[str, Any]:
    """``page_json`` of a page that may be shared between requests (a remembered read:
    ``targets.browse``), rendered once while it is remembered — rendering 20 targets was a
    fifth of a remembered list's cost. The answer is shared too: never change it."""
    key = (id(page), to_json)
    known = _SHARED.get(key)
    if known is not None and known[0] is page:  # the page is held: its id is not reused
        return known[1]
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()
    rendered = page_json(page, to_json)
    _SHARED[key] = (page, rendered)
    return rendered

"""The one table from role to permissions, and ``PermissionChecker`` for a principal.

Permissions are ``resource:action`` strings. Roles grow: each one has every permission of
the roles below it. A superuser also holds ``*:read_all``: every ``…:read`` permission in
every organization (reading only; writing still needs a role in that organization).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from .enums import Role
from .errors import PermissionDeniedError
from .identity import Principal

TARGETS_READ = "targets:read"
TARGETS_WRITE = "targets:write"
TARGETS_SCAN = "targets:scan"
STACKS_READ = "stacks:read"
STACKS_WRITE = "stacks:write"
DEPLOYMENTS_READ = "deployments:read"
DEPLOYMENTS_CREATE = "deployments:create"
DEPLOYMENTS_MANAGE = "deployments:manage"
CONTAINERS_MANAGE = "containers:manage"
CONTAINERS_EXEC = "containers:exec"  # a shell inside a container (terminal)
USERS_READ = "users:read"
USERS_MANAGE = "users:manage"
ORG_READ = "org:read"
ORG_MANAGE = "org:manage"
ORG_DELETE = "org:delete"
READ_ALL = "*:read_all"

_VIEWER = frozenset({TARGETS_READ, STACKS_READ, DEPLOYMENTS_READ, USERS_READ, ORG_READ})
_OPERATOR = _VIEWER | {DEPLOYMENTS_CREATE, DEPLOYMENTS_MANAGE, CONTAINERS_MANAGE,
                       CONTAINERS_EXEC, TARGETS_SCAN}
_ADMIN = _OPERATOR | {TARGETS_WRITE, STACKS_WRITE, USERS_MANAGE}
_OWNER = _ADMIN | {ORG_MANAGE, ORG_DELETE}

ROLE_PERMISSIONS: Mapping[Role, frozenset[str]] = {
    Role.VIEWER: _VIEWER,
    Role.OPERATOR: _OPERATOR,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _OWNER,
}
SUPERUSER_PERMISSIONS = frozenset({READ_ALL})
ALL_PERMISSIONS = frozenset(_OWNER | SUPERUSER_PERMISSIONS)


def permissions_of(role: Role | None) -> frozenset[str]:
    return ROLE_PERMISSIONS[role] if role is not None else frozenset()


def lowest_role_with(permission: str) -> Role | None:
    for role in Role:
        if permission in ROLE_PERMISSIONS[role]:
            return role
    return None


def _is_read(permission: str) -> bool:
    return permission.endswith(":read")


class PermissionChecker:
    """Answers what ``principal`` may do in an organization (its own one by default)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def permissions(self, organization_id: uuid.UUID | None = None) -> frozenset[str]:
        org = organization_id if organization_id is not None else self.principal.organization_id
        granted: frozenset[str] = frozenset()
        if org is not None and org == self.principal.organization_id:
            granted = permissions_of(self.principal.role)
        if self.principal.is_superuser:
            granted = granted | SUPERUSER_PERMISSIONS
        if self.principal.scopes is not None:  # a token narrows, never widens
            granted = granted & self.principal.scopes
        return granted

    def has_permission(self, permission: str, organization_id: uuid.UUID | None = None) -> bool:
        granted = self.permissions(organization_id)
        if permission in granted:
            return True
        return READ_ALL in granted and _is_read(permission)

    def has_any_permission(
        self, permissions: Iterable[str], organization_id: uuid.UUID | None = None
    ) -> bool:
        return any(self.has_permission(p, organization_id) for p in permissions)

    def require_permission(
        self, permission: str, organization_id: uuid.UUID | None = None
    ) -> None:
        """Raise ``PermissionDeniedError`` with a message that says what is missing."""
        if self.has_permission(permission, organization_id):
            return
        org = organization_id if organization_id is not None else self.principal.organization_id
        if org is None or org != self.principal.organization_id:
            raise PermissionDeniedError(
                f"you are not acting in that organization (needed: {permission})"
            )
        needed = lowest_role_with(permission)
        hint = f"the {needed.value} role or higher" if needed else "a superuser account"
        have = self.principal.role.value if self.principal.role else "no role"
        raise PermissionDeniedError(
            f"you need {hint} for this (permission {permission}; you are {have})"
        )

"""The role → permission table and PermissionChecker."""

from __future__ import annotations

import uuid

import pytest

from windflow_desktop.domain import permissions as p
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.permissions import ROLE_PERMISSIONS, PermissionChecker

ORG, OTHER = uuid.uuid4(), uuid.uuid4()

EXPECTED = {
    Role.VIEWER: {p.TARGETS_READ, p.STACKS_READ, p.DEPLOYMENTS_READ, p.USERS_READ, p.ORG_READ},
    Role.OPERATOR: {p.DEPLOYMENTS_CREATE, p.DEPLOYMENTS_MANAGE, p.CONTAINERS_MANAGE,
                    p.CONTAINERS_EXEC, p.TARGETS_SCAN},
    Role.ADMIN: {p.TARGETS_WRITE, p.STACKS_WRITE, p.USERS_MANAGE},
    Role.OWNER: {p.ORG_MANAGE, p.ORG_DELETE},
}


def test_table_is_cumulative_and_exact() -> None:
    granted: set[str] = set()
    for role in Role:
        granted |= EXPECTED[role]
        assert ROLE_PERMISSIONS[role] == granted, role
    assert p.READ_ALL not in ROLE_PERMISSIONS[Role.OWNER]


@pytest.mark.parametrize("role", list(Role))
def test_checker_in_own_org(role: Role) -> None:
    checker = PermissionChecker(Principal(uuid.uuid4(), ORG, role))
    for perm in p.ALL_PERMISSIONS:
        allowed = perm in ROLE_PERMISSIONS[role]
        assert checker.has_permission(perm) is allowed, (role, perm)
        assert checker.has_permission(perm, ORG) is allowed
        if allowed:
            checker.require_permission(perm)
        else:
            with pytest.raises(PermissionDeniedError):
                checker.require_permission(perm)


@pytest.mark.parametrize("role", list(Role))
def test_nothing_in_another_org(role: Role) -> None:
    checker = PermissionChecker(Principal(uuid.uuid4(), ORG, role))
    assert not checker.has_any_permission(p.ALL_PERMISSIONS, OTHER)
    with pytest.raises(PermissionDeniedError, match="not acting in that organization"):
        checker.require_permission(p.TARGETS_READ, OTHER)


def test_superuser_reads_everything_but_writes_only_by_role() -> None:
    su = PermissionChecker(Principal(uuid.uuid4(), ORG, Role.VIEWER, is_superuser=True))
    for perm in (p.TARGETS_READ, p.USERS_READ, p.ORG_READ, p.DEPLOYMENTS_READ):
        assert su.has_permission(perm, OTHER)
    assert su.has_permission(p.READ_ALL)
    assert not su.has_permission(p.TARGETS_WRITE, OTHER)
    assert not su.has_permission(p.USERS_MANAGE)
    assert su.has_any_permission([p.USERS_MANAGE, p.STACKS_READ], OTHER)


def test_no_role_or_org_has_nothing() -> None:
    checker = PermissionChecker(Principal(uuid.uuid4(), None, None))
    assert checker.permissions() == frozenset()
    with pytest.raises(PermissionDeniedError):
        checker.require_permission(p.ORG_READ)


def test_denial_message_names_the_role_needed() -> None:
    checker = PermissionChecker(Principal(uuid.uuid4(), ORG, Role.OPERATOR))
    with pytest.raises(PermissionDeniedError, match=r"admin role or higher.*users:manage"):
        checker.require_permission(p.USERS_MANAGE)

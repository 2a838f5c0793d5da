"""Disabling an account acts in every organization it belongs to, so an admin of one
organization may not disable (or enable) someone who also belongs to another where
they cannot manage people; removing them from their own organization stays possible."""

from __future__ import annotations

import pytest

from tests.support.auth import add_member, add_org, build_services
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.domain.models import Membership
from windflow_desktop.repositories.sql.backend import SqlBackend


async def test_admin_cannot_disable_a_member_of_another_organization(
    backend: SqlBackend,
) -> None:
    services = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    shared = await add_member(backend, acme.id, "sam", Role.OPERATOR)
    async with backend.unit_of_work() as uow:  # sam also works for Globex
        await uow.memberships.save(Membership(shared.user_id, globex.id, Role.VIEWER))
        await uow.commit()

    with pytest.raises(PermissionDeniedError, match="also belongs to Globex"):
        await services.users.disable_user(admin, shared.user_id)
    with pytest.raises(PermissionDeniedError, match="also belongs to Globex"):
        await services.users.enable_user(admin, shared.user_id)
    async with backend.unit_of_work() as uow:
        assert (await uow.users.get(shared.user_id)).is_active

    # Removing sam from Acme is the admin's to do; Globex keeps them.
    await services.users.remove_member(admin, shared.user_id)
    async with backend.unit_of_work() as uow:
        assert await uow.memberships.get(shared.user_id, acme.id) is None
        assert await uow.memberships.get(shared.user_id, globex.id) is not None


async def test_admin_of_both_organizations_may_disable(backend: SqlBackend) -> None:
    services = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    shared = await add_member(backend, acme.id, "sam", Role.OPERATOR)
    async with backend.unit_of_work() as uow:
        await uow.memberships.save(Membership(shared.user_id, globex.id, Role.VIEWER))
        await uow.memberships.save(Membership(admin.user_id, globex.id, Role.ADMIN))
        await uow.commit()
    member = await services.users.disable_user(admin, shared.user_id)
    assert not member.user.is_active

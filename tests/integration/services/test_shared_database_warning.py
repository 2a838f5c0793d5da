"""A team sharing a PostgreSQL workspace directly (no server) is told that roles are not
enforced that way; one person on several machines, or a SQLite workspace, is not."""

from __future__ import annotations

from tests.support.auth import PASSWORD, build_services
from windflow_desktop.domain.enums import Role
from windflow_desktop.repositories.sql.backend import SqlBackend


async def test_more_than_one_member_on_a_shared_database_is_warned(
        backend: SqlBackend) -> None:
    svc = build_services(backend)
    owner = (await svc.auth.setup(username="olga", email="olga@example.test",
                                  password=PASSWORD, organization_name="Acme")).principal
    assert await svc.auth.shared_database_warning(owner) is None  # alone
    await svc.users.create_user(owner, username="bob", email="bob@example.test",
                                password=PASSWORD, role=Role.VIEWER)
    warning = await svc.auth.shared_database_warning(owner)
    if backend.engine.dialect.name == "sqlite":
        assert warning is None  # a file on one machine: no one else opens it
    else:
        assert warning is not None and "roles are not enforced" in warning
        assert "windflow serve" in warning

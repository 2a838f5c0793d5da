"""Signing in to a real ``windflow serve`` through ``RemoteAuth`` — the session store's
``AuthApi`` in remote mode: who one is and in which organization, a password change that
keeps this session and ends the others, the idle lock's password check, a silent sign-in
at the next start from the kept refresh token, sign-out forgetting it, and no set-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.env.keyring_backend import MemoryKeyring
from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import AuthenticationError, ValidationError
from windflow_desktop.remote.auth import RemoteAuth
from windflow_desktop.remote.client import ServerSession, TokenKeeper
from windflow_desktop.security.secrets import SecretStore

NEW_PASSWORD = "a new and long password"


async def test_sign_in_password_change_lock_restore_and_sign_out(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server:
        secrets = SecretStore(MemoryKeyring())

        def desktop(username: str = "") -> RemoteAuth:
            return RemoteAuth(ServerSession(
                server.url, keeper=TokenKeeper(secrets, server.url, username)))

        here, there = desktop(), RemoteAuth(ServerSession(server.url))
        try:
            with pytest.raises(ValidationError, match="create-owner"):
                await here.setup(username="x", email="x@x.test", password=PASSWORD,
                                 organization_name="X")
            assert await here.needs_setup() is False
            session = await here.login("olga", PASSWORD)
            assert session.user.username == "olga" and session.principal.role is Role.OWNER
            assert session.organization is not None and session.organization.name == "Acme"
            assert [m.organization_id for m in session.memberships] == [
                session.principal.organization_id]
            assert session.tokens.access.exp > session.tokens.access.iat
            await there.login("olga", PASSWORD)

            await here.confirm_password(session.principal, PASSWORD)
            with pytest.raises(AuthenticationError):
                await here.confirm_password(session.principal, "not the password")

            changed = await here.change_password(session.principal, PASSWORD, NEW_PASSWORD)
            assert changed.user.username == "olga"
            await here.confirm_password(changed.principal, NEW_PASSWORD)  # still signed in
            with pytest.raises(AuthenticationError) as ended:
                await there.session.request("GET", "/targets")
            assert ended.value.code == "SESSION_ENDED"

            # The next start of this desktop signs in silently with the kept token.
            again = desktop("olga")
            assert await again.has_remembered()
            restored = await again.restore_remembered()
            assert restored is not None and restored.principal.role is Role.OWNER
            await again.logout(restored.tokens.refresh_token)
            assert not await desktop("olga").has_remembered()
            assert await desktop("olga").restore_remembered() is None
            await again.session.close()
        finally:
            await here.session.close()
            await there.session.close()

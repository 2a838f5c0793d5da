"""``ServerSession`` against a real ``windflow serve``: sign in, a stale access token
refreshed once for many requests at a time, the session ended elsewhere, the server's
errors as the domain's, a silent sign-in from the kept refresh token, a server that is
down or whose certificate is not trusted, in words."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.env.docker import make_tls
from tests.env.keyring_backend import MemoryKeyring
from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.domain.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.remote.client import ServerSession, TokenKeeper
from windflow_desktop.remote.errors import ServerUnreachableError
from windflow_desktop.security.secrets import SecretStore


async def test_a_session_refreshes_once_for_everyone_and_ends_when_revoked(
        tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server:
        secrets = SecretStore(MemoryKeyring())
        session = ServerSession(server.url, keeper=TokenKeeper(secrets, server.url, "olga"))
        try:
            me = await session.login("olga", PASSWORD)
            assert me["role"] == "owner"
            # The access token goes stale: twenty requests at once, one refresh.
            session.access_token = session.access_token[:-4] + "AAAA"  # type: ignore[index]
            pages = await asyncio.gather(*(session.request("GET", "/targets")
                                           for _ in range(20)))
            assert all(p == {"items": [], "next_cursor": None} for p in pages)
            assert session.refreshes == 1

            with pytest.raises(NotFoundError, match="was not found"):
                await session.request("GET", "/stacks/00000000-0000-0000-0000-000000000000")
            with pytest.raises(ValidationError) as bad:
                await session.request("POST", "/stacks", json={"name": "x"})
            assert bad.value.code == "VALIDATION_ERROR"
            await session.request("POST", "/users", json={
                "username": "vera", "email": "vera@example.test", "password": PASSWORD})

            # A restart signs in silently from the kept refresh token.
            again = ServerSession(server.url,
                                  keeper=TokenKeeper(secrets, server.url, "olga"))
            assert (await again.restore() or {}).get("role") == "owner"
            await again.close()

            viewer = ServerSession(server.url)
            await viewer.login("vera", PASSWORD)
            with pytest.raises(PermissionDeniedError, match="admin role or higher"):
                await viewer.request("POST", "/stacks", json={
                    "name": "Nope", "compose_yaml": "services:\n  web:\n    image: x\n"})
            # Signed out everywhere: the next refresh is refused, the session has ended.
            await viewer.request("POST", "/auth/logout-all")
            with pytest.raises(AuthenticationError) as ended:
                await viewer.request("GET", "/targets")
            assert ended.value.code == "SESSION_ENDED"
            await viewer.close()
        finally:
            await session.close()


async def test_a_server_that_is_down_or_not_trusted_is_said_in_words(tmp_path: Path) -> None:
    down = ServerSession("http://127.0.0.1:9")
    with pytest.raises(ServerUnreachableError, match="is the server running"):
        await down.login("olga", PASSWORD)
    await down.close()

    create_owner(tmp_path)
    tls = make_tls(tmp_path / "tls")
    with running_server(tmp_path, "--tls-cert", str(tls.server_cert), "--tls-key",
                        str(tls.server_key), scheme="https", ca_file=str(tls.ca)) as server:
        untrusted = ServerSession(server.url)
        with pytest.raises(ServerUnreachableError, match="certificate this computer does not"
                           ) as refused:
            await untrusted.login("olga", PASSWORD)
        assert refused.value.code == "TLS_UNTRUSTED"
        await untrusted.close()
        trusted = ServerSession(server.url, ca_file=str(tls.ca))
        assert (await trusted.login("olga", PASSWORD))["role"] == "owner"
        await trusted.close()

"""An access token that expires mid-session (a 2 s lifetime here) is refreshed without
the user noticing: ten requests at once after it expired cost one refresh, and all of
them are answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.remote.client import ServerSession


async def test_an_expired_access_token_is_refreshed_once_for_ten(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path, WINDFLOW_ACCESS_TOKEN_TTL_S="2") as server:
        session = ServerSession(server.url)
        try:
            await session.login("olga", PASSWORD)
            first = session.access_token
            assert (await session.request("GET", "/targets"))["items"] == []
            await asyncio.sleep(3)  # the access token has expired on the server
            pages = await asyncio.gather(*(session.request("GET", "/targets")
                                           for _ in range(10)))
            assert all(p["items"] == [] for p in pages)
            assert session.refreshes == 1 and session.access_token != first
        finally:
            await session.close()

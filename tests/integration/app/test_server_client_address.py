"""Sign-in throttling counts per client address (so one client cannot lock the owner
out for everyone), and ``X-Forwarded-For`` names that address only when the peer is a
proxy the server was told to trust."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server import PASSWORD, create_owner, running_server


def _fail(http: httpx.Client, source: str, times: int) -> list[int]:
    return [http.post("/api/v1/auth/login", headers={"X-Forwarded-For": source},
                      json={"username": "olga", "password": "wrong"}).status_code
            for _ in range(times)]


def _sign_in(http: httpx.Client, source: str) -> int:
    return http.post("/api/v1/auth/login", headers={"X-Forwarded-For": source},
                     json={"username": "olga", "password": PASSWORD}).status_code


def test_a_trusted_proxy_names_the_client_and_only_that_client_is_locked(
        tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path, "--trusted-proxy", "127.0.0.1") as server, \
            server.client() as http:
        assert _fail(http, "203.0.113.7", 6)[-1] == 429  # that address is locked
        assert _sign_in(http, "203.0.113.7") == 429
        assert _sign_in(http, "198.51.100.2") == 200  # the owner elsewhere still gets in


def test_without_a_trusted_proxy_the_header_is_ignored(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        _fail(http, "203.0.113.7", 6)
        # A forged header does not make a new client: the peer's own address is locked.
        assert _sign_in(http, "198.51.100.2") == 429

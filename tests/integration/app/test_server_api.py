"""``windflow create-owner`` and ``windflow serve`` as an admin runs them (real processes,
real uvicorn on loopback, the SQLite workspace): sign in, the caller's identity, the
read routes, token rotation, and bad input answered 4xx with the error body, never 500."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx

from tests.support.server import PASSWORD, create_owner, running_server, windflow


def _error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == code, body
    assert body["message"]
    return dict(body)


def test_an_owner_signs_in_reads_and_rotates_tokens(tmp_path: Path,
                                                   database_url: str) -> None:
    """On the SQLite workspace, and on a team's PostgreSQL."""
    env = {"WINDFLOW_DATABASE_URL": database_url}
    create_owner(tmp_path, **env)
    again = windflow(tmp_path, "create-owner", "eve", "--org", "Evil", stdin="x" * 12 + "\n",
                     **env)
    assert again.returncode == 2 and "has users already" in again.stderr
    with running_server(tmp_path, **env) as server, server.client() as http:
        assert http.get("/healthz").json()["status"] == "ok"
        _error(http.post("/api/v1/auth/login", json={"username": "olga", "password": "nope"}),
               401, "BAD_CREDENTIALS")
        tokens = http.post("/api/v1/auth/login",
                           json={"username": "olga", "password": PASSWORD}).json()
        assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = http.get("/api/v1/auth/me", headers=auth).json()
        assert me["user"]["username"] == "olga" and me["role"] == "owner"
        assert "password_hash" not in me["user"] and "targets:write" in me["permissions"]
        for resource in ("targets", "stacks", "deployments"):
            page = http.get(f"/api/v1/{resource}", headers=auth, params={"limit": 10}).json()
            assert page == {"items": [], "next_cursor": None}, resource
        _error(http.get(f"/api/v1/targets/{uuid.uuid4()}", headers=auth), 404, "NOT_FOUND")

        rotated = http.post("/api/v1/auth/refresh",
                            json={"refresh_token": tokens["refresh_token"]}).json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        # The spent refresh token again: someone copied it — the whole family ends.
        _error(http.post("/api/v1/auth/refresh",
                         json={"refresh_token": tokens["refresh_token"]}), 401,
               "TOKEN_REUSED")
        ended = http.get("/api/v1/auth/me",
                         headers={"Authorization": f"Bearer {rotated['access_token']}"})
        assert ended.status_code == 401, ended.text


def test_bad_input_gets_a_4xx_with_the_error_body(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        tokens = http.post("/api/v1/auth/login",
                           json={"username": "olga", "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        missing = http.get("/api/v1/targets")
        _error(missing, 401, "NOT_SIGNED_IN")
        assert missing.headers["www-authenticate"] == "Bearer"
        head, payload, signature = tokens["access_token"].split(".")
        forged = f"{head}.{payload}.{signature[::-1]}"
        assert http.get("/api/v1/targets", headers={
            "Authorization": f"Bearer {forged}"}).status_code == 401
        _error(http.post("/api/v1/auth/login", content=b"{not json",
                         headers={"Content-Type": "application/json"}), 422,
               "VALIDATION_ERROR")
        _error(http.post("/api/v1/auth/login", json={"username": "olga", "password": 5}),
               422, "VALIDATION_ERROR")
        _error(http.post("/api/v1/auth/login", json={"username": "olga", "password": "x",
                                                    "admin": True}), 422, "VALIDATION_ERROR")
        _error(http.get("/api/v1/deployments", headers=auth, params={"limit": 100_000}),
               422, "VALIDATION_ERROR")
        _error(http.get("/api/v1/deployments", headers=auth, params={"status": "bogus"}),
               422, "VALIDATION_ERROR")
        _error(http.get("/api/v1/stacks/not-a-uuid", headers=auth), 422, "VALIDATION_ERROR")
        _error(http.get("/api/v1/nowhere", headers=auth), 404, "NOT_FOUND")
        big = json.dumps({"username": "olga", "password": "x" * (5 << 20)})
        _error(http.post("/api/v1/auth/login", content=big.encode(),
                         headers={"Content-Type": "application/json"}), 413, "TOO_LARGE")
        _error(http.get("/api/v1/targets", headers=auth, params={"cursor": "garbage"}), 422,
               "VALIDATION_ERROR")


def test_sessions_survive_a_restart_and_a_key_rotation(tmp_path: Path) -> None:
    """The token signing key is a sealed secret of the server: a restart keeps every
    session; ``windflow rotate-key`` seals it (and the rest) under a new key."""
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        tokens = http.post("/api/v1/auth/login",
                           json={"username": "olga", "password": PASSWORD}).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    key_file = tmp_path / "server.key"
    before = key_file.read_text()
    rotated = windflow(tmp_path, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    after = key_file.read_text()
    assert len(after.splitlines()) == 1 and after.split()[0] != before.split()[0]
    with running_server(tmp_path) as server, server.client() as http:
        assert http.get("/api/v1/auth/me", headers=auth).json()["user"]["username"] == "olga"
        again = http.post("/api/v1/auth/refresh",
                          json={"refresh_token": tokens["refresh_token"]})
        assert again.status_code == 200, again.text

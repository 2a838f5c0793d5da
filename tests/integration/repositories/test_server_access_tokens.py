"""Personal access tokens and signing out everywhere, on a real ``windflow serve``: a
token is shown once and works like an access token, its scopes narrow its owner's role
(and a demotion narrows it further), revoked, expired or mistyped it is refused at once,
a token cannot make tokens; ``logout-all`` ends every session."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from tests.support.databases import sqlite_url
from tests.support.server import COMPOSE, PASSWORD, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.models import utcnow
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.repositories.sql.tables import access_tokens


def _expire(home: Path, token_id: str) -> None:
    async def run() -> None:
        backend = SqlBackend(sqlite_url(home / "workspace.db"))
        await backend.open()
        try:
            async with backend.engine.begin() as conn:
                await conn.execute(update(access_tokens)
                                   .where(access_tokens.c.id == uuid.UUID(token_id))
                                   .values(expires_at=utcnow() - timedelta(minutes=1)))
        finally:
            await backend.close()

    asyncio.run(run())


def test_tokens_for_automation(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        olga = bearer(sign_in(http, "olga")["access_token"])
        ada = http.post("/api/v1/users", headers=olga, json={
            "username": "ada", "email": "ada@example.test", "password": PASSWORD,
            "role": "admin"}).json()
        full = http.post("/api/v1/auth/tokens", headers=olga,
                         json={"name": "ci", "expires_in_days": 30}).json()
        assert full["token"].startswith("wf_pat_") and "token_hash" not in full
        listed = http.get("/api/v1/auth/tokens", headers=olga).json()
        assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]
        assert http.post("/api/v1/stacks", headers=bearer(full["token"]), json={
            "name": "By CI", "compose_yaml": COMPOSE}).status_code == 201
        assert http.get("/api/v1/auth/tokens", headers=olga).json()[0]["last_used_at"]
        # A token cannot make tokens, and a typo is refused without a lookup.
        assert http.post("/api/v1/auth/tokens", headers=bearer(full["token"]),
                         json={"name": "more"}).status_code == 403
        mistyped = full["token"][:-1] + ("0" if full["token"][-1] != "0" else "1")
        assert http.get("/api/v1/targets", headers=bearer(mistyped)).status_code == 401

        # Scopes narrow the role: read-only, even for the owner.
        reader = http.post("/api/v1/auth/tokens", headers=olga, json={
            "name": "reader", "scopes": ["targets:read", "stacks:read"]}).json()
        assert http.get("/api/v1/stacks", headers=bearer(reader["token"])).status_code == 200
        assert http.post("/api/v1/stacks", headers=bearer(reader["token"]), json={
            "name": "Nope", "compose_yaml": COMPOSE}).status_code == 403
        me = http.get("/api/v1/auth/me", headers=bearer(reader["token"]))
        assert me.status_code == 200, me.text
        assert me.json()["permissions"] == ["stacks:read", "targets:read"]

        # A demotion narrows a token at once: scopes never widen a role.
        writer = http.post("/api/v1/auth/tokens",
                           headers=bearer(sign_in(http, "ada")["access_token"]),
                           json={"name": "ada's", "scopes": ["stacks:write",
                                                             "stacks:read"]}).json()
        assert http.post("/api/v1/stacks", headers=bearer(writer["token"]), json={
            "name": "By Ada", "compose_yaml": COMPOSE}).status_code == 201
        assert http.put(f"/api/v1/users/{ada['user']['id']}/role", headers=olga,
                        json={"role": "viewer"}).status_code == 200
        assert http.post("/api/v1/stacks", headers=bearer(writer["token"]), json={
            "name": "Not now", "compose_yaml": COMPOSE}).status_code == 403

        # Revoked: refused from the next call on; expired: refused.
        assert http.delete(f"/api/v1/auth/tokens/{full['id']}",
                           headers=olga).status_code == 204
        assert http.get("/api/v1/targets", headers=bearer(full["token"])).status_code == 401
        _expire(tmp_path, reader["id"])
        expired = http.get("/api/v1/targets", headers=bearer(reader["token"]))
        # Remembered for at most a few seconds by the server: wait it out.
        for _ in range(60):
            if expired.status_code == 401:
                break
            asyncio.run(asyncio.sleep(0.1))
            expired = http.get("/api/v1/targets", headers=bearer(reader["token"]))
        assert expired.status_code == 401, expired.text


def test_logout_all_ends_every_session(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        laptop, desktop = sign_in(http, "olga"), sign_in(http, "olga")
        assert http.post("/api/v1/auth/logout-all",
                         headers=bearer(laptop["access_token"])).status_code == 204
        for session in (laptop, desktop):
            assert http.get("/api/v1/targets",
                            headers=bearer(session["access_token"])).status_code == 401
            assert http.post("/api/v1/auth/refresh", json={
                "refresh_token": session["refresh_token"]}).status_code == 401
        assert http.get("/api/v1/targets",
                        headers=bearer(sign_in(http, "olga")["access_token"])).status_code == 200

"""The embedded server remembers each caller's standing (role, account active, session
live) between requests (repositories/sql/standings.py). Whatever changes a standing is
seen by the very next request: a role changed either way, logout-all, a password change,
a disabled account, a removed member. Every case first warms the caller's entry with a
few requests, so a stale entry would answer the next one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import PASSWORD, bearer, create_owner, running_server, sign_in

TARGET = {"name": "", "kind": "ssh", "host": "10.9.9.9", "username": "deploy"}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    home = tmp_path_factory.mktemp("standings")
    create_owner(home)
    with running_server(home) as server, server.client() as client:
        yield client


def _member(http: httpx.Client, role: str) -> tuple[str, dict[str, Any]]:
    """A new member of olga's organization with ``role``: (user id, their tokens)."""
    owner = bearer(sign_in(http, "olga")["access_token"])
    name = f"m{uuid.uuid4().hex[:8]}"
    made = http.post("/api/v1/users", headers=owner, json={
        "username": name, "email": f"{name}@example.org", "password": PASSWORD,
        "role": role})
    assert made.status_code == 201, made.text
    return made.json()["user"]["id"], sign_in(http, name)


def _warm(http: httpx.Client, auth: dict[str, str]) -> None:
    for _ in range(5):
        assert http.get("/api/v1/targets", headers=auth).status_code == 200


def _role(http: httpx.Client, auth: dict[str, str]) -> str:
    me = http.get("/api/v1/auth/me", headers=auth)
    assert me.status_code == 200, me.text
    return str(me.json()["role"])


def _add_target(http: httpx.Client, auth: dict[str, str]) -> int:
    body = {**TARGET, "name": f"t-{uuid.uuid4().hex[:8]}"}
    return http.post("/api/v1/targets", headers=auth, json=body).status_code


def test_a_role_change_is_seen_by_the_next_request_both_ways(http: httpx.Client) -> None:
    owner = bearer(sign_in(http, "olga")["access_token"])
    user_id, tokens = _member(http, "admin")
    auth = bearer(tokens["access_token"])
    _warm(http, auth)
    assert _role(http, auth) == "admin" and _add_target(http, auth) == 201

    changed = http.put(f"/api/v1/users/{user_id}/role", headers=owner, json={"role": "viewer"})
    assert changed.status_code == 200, changed.text
    assert _add_target(http, auth) == 403
    assert _role(http, auth) == "viewer"

    _warm(http, auth)
    assert http.put(f"/api/v1/users/{user_id}/role", headers=owner,
                    json={"role": "admin"}).status_code == 200
    assert _add_target(http, auth) == 201
    assert _role(http, auth) == "admin"


def test_logout_all_ends_every_session_at_the_next_request(http: httpx.Client) -> None:
    _, first = _member(http, "operator")
    name = http.get("/api/v1/auth/me",
                    headers=bearer(first["access_token"])).json()["user"]["username"]
    second = sign_in(http, name)
    for tokens in (first, second):
        _warm(http, bearer(tokens["access_token"]))

    ended = http.post("/api/v1/auth/logout-all", headers=bearer(first["access_token"]))
    assert ended.status_code in (200, 204), ended.text
    for tokens in (first, second):
        refused = http.get("/api/v1/targets", headers=bearer(tokens["access_token"]))
        assert refused.status_code == 401, refused.text


def test_a_password_change_ends_the_other_sessions_at_once(http: httpx.Client) -> None:
    _, first = _member(http, "viewer")
    name = http.get("/api/v1/auth/me",
                    headers=bearer(first["access_token"])).json()["user"]["username"]
    other = sign_in(http, name)
    _warm(http, bearer(other["access_token"]))

    changed = http.post("/api/v1/auth/password", headers=bearer(first["access_token"]),
                        json={"current_password": PASSWORD,
                              "new_password": PASSWORD + " and more"})
    assert changed.status_code == 200, changed.text
    assert http.get("/api/v1/targets",
                    headers=bearer(other["access_token"])).status_code == 401
    assert http.get("/api/v1/targets", headers=bearer(
        changed.json()["access_token"])).status_code == 200


def test_a_disabled_or_removed_member_is_refused_at_the_next_request(
        http: httpx.Client) -> None:
    owner = bearer(sign_in(http, "olga")["access_token"])
    disabled_id, disabled = _member(http, "operator")
    removed_id, removed = _member(http, "operator")
    for tokens in (disabled, removed):
        _warm(http, bearer(tokens["access_token"]))

    assert http.post(f"/api/v1/users/{disabled_id}/disable",
                     headers=owner).status_code == 200
    assert http.get("/api/v1/targets",
                    headers=bearer(disabled["access_token"])).status_code == 401

    assert http.delete(f"/api/v1/users/{removed_id}", headers=owner).status_code == 204
    refused = http.get("/api/v1/targets", headers=bearer(removed["access_token"]))
    assert refused.status_code in (401, 403), refused.text

"""The RBAC matrix over HTTP: every route of ``windflow serve`` by viewer / operator /
admin / owner, in their own organization and against another organization's objects,
expectations written out by hand (``D`` denied 403, ``N`` not found 404 — another
organization's object does not exist for them —, ``Y`` let through the permission check:
any other answer below 500, such as 200, 201, 409 or 422). A check that the table names
every route keeps it complete. Then the team-mode attacks of the review, replayed with a
viewer's token. Real ``windflow serve`` on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIWebSocketRoute

from tests.support.server import PASSWORD, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.models import Organization, Stack, Target
from windflow_desktop.repositories.sql.backend import SqlBackend

ROLES = ("viewer", "operator", "admin", "owner")
COMPOSE = "services:\n  web:\n    image: localhost/busybox\n    command: [sleep, '60']\n"


def _export(name: str) -> str:
    return json.dumps({"format": "windflow.stack", "version": 1, "stack": {"name": name},
                       "revisions": [{"number": 1, "compose_yaml": COMPOSE}]})


Ids = dict[str, str]
# (method, route as the app names it, how to fill it in, body, V O A W)
MATRIX: list[tuple[str, str, Callable[[Ids], str], Any, str]] = [
    ("GET", "/api/v1/targets", lambda i: "/api/v1/targets", None, "YYYY"),
    ("POST", "/api/v1/targets", lambda i: "/api/v1/targets",
     lambda r: {"name": f"new-{r}", "kind": "local"}, "DDYY"),
    ("GET", "/api/v1/targets/{target_id}", lambda i: f"/api/v1/targets/{i['target']}", None,
     "YYYY"),
    ("DELETE", "/api/v1/targets/{target_id}", lambda i: f"/api/v1/targets/{i['spare']}",
     None, "DDYY"),
    ("POST", "/api/v1/targets/{target_id}/test",
     lambda i: f"/api/v1/targets/{i['target']}/test", None, "DYYY"),
    ("GET", "/api/v1/targets/{target_id}/host-key",
     lambda i: f"/api/v1/targets/{i['target']}/host-key", None, "YYYY"),
    # Not an SSH target: past the check, a 422 (test_server_host_keys.py trusts one).
    ("POST", "/api/v1/targets/{target_id}/host-key",
     lambda i: f"/api/v1/targets/{i['target']}/host-key",
     lambda r: {"fingerprint": "SHA256:abcdefgh"}, "DDYY"),
    ("POST", "/api/v1/targets/{target_id}/scan",
     lambda i: f"/api/v1/targets/{i['target']}/scan", None, "DYYY"),
    ("GET", "/api/v1/targets/{target_id}/capabilities",
     lambda i: f"/api/v1/targets/{i['target']}/capabilities", None, "YYYY"),
    ("PUT", "/api/v1/targets/{target_id}", lambda i: f"/api/v1/targets/{i['target']}",
     lambda r: {"name": "box", "kind": "local", "docker_socket": "{no_engine}"}, "DDYY"),
    ("DELETE", "/api/v1/targets/{target_id}/host-key",
     lambda i: f"/api/v1/targets/{i['target']}/host-key", None, "DDYY"),
    ("POST", "/api/v1/targets/test-draft", lambda i: "/api/v1/targets/test-draft",
     lambda r: {"name": f"draft-{r}", "kind": "local", "docker_socket": "{no_engine}",
                "target_id": "{target}"}, "DDYY"),
    # One round of health checks: what the service checks is targets:read.
    ("POST", "/api/v1/targets/health", lambda i: "/api/v1/targets/health",
     lambda r: {"target_ids": ["{target}"]}, "YYYY"),
    # A target's containers: its engine is not there, so a call let through answers
    # 400 DOCKER_UNAVAILABLE (test_remote_containers.py runs them on a real engine).
    ("GET", "/api/v1/targets/{target_id}/containers",
     lambda i: f"/api/v1/targets/{i['target']}/containers", None, "YYYY"),
    # The raw view (secret values left as they are) is for those who manage containers;
    # the masked one is everyone's (test_remote_containers.py).
    ("GET", "/api/v1/targets/{target_id}/containers/{container_id}",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1?raw=true", None, "DYYY"),
    ("POST", "/api/v1/targets/{target_id}/containers/{container_id}/start",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1/start", None, "DYYY"),
    ("POST", "/api/v1/targets/{target_id}/containers/{container_id}/stop",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1/stop", None, "DYYY"),
    ("POST", "/api/v1/targets/{target_id}/containers/{container_id}/restart",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1/restart", None, "DYYY"),
    ("DELETE", "/api/v1/targets/{target_id}/containers/{container_id}",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1", None, "DYYY"),
    ("GET", "/api/v1/targets/{target_id}/containers/{container_id}/logs",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1/logs", None, "YYYY"),
    ("GET", "/api/v1/targets/{target_id}/containers/{container_id}/logs/follow",
     lambda i: f"/api/v1/targets/{i['target']}/containers/web1/logs/follow", None, "YYYY"),
    ("GET", "/api/v1/stacks", lambda i: "/api/v1/stacks", None, "YYYY"),
    ("POST", "/api/v1/stacks", lambda i: "/api/v1/stacks",
     lambda r: {"name": f"Stack {r}", "compose_yaml": COMPOSE}, "DDYY"),
    ("GET", "/api/v1/stacks/{stack_id}", lambda i: f"/api/v1/stacks/{i['stack']}", None,
     "YYYY"),
    ("PATCH", "/api/v1/stacks/{stack_id}", lambda i: f"/api/v1/stacks/{i['stack']}",
     lambda r: {"description": f"by {r}"}, "DDYY"),
    ("POST", "/api/v1/stacks/{stack_id}/revisions",
     lambda i: f"/api/v1/stacks/{i['stack']}/revisions",
     lambda r: {"compose_yaml": COMPOSE + f"# {r}\n"}, "DDYY"),
    ("GET", "/api/v1/stacks/{stack_id}/revisions",
     lambda i: f"/api/v1/stacks/{i['stack']}/revisions", None, "YYYY"),
    ("GET", "/api/v1/stacks/{stack_id}/revisions/{number}",
     lambda i: f"/api/v1/stacks/{i['stack']}/revisions/1", None, "YYYY"),
    ("GET", "/api/v1/stacks/{stack_id}/diff",
     lambda i: f"/api/v1/stacks/{i['stack']}/diff?old=1&new=1", None, "YYYY"),
    ("POST", "/api/v1/stacks/{stack_id}/archive",
     lambda i: f"/api/v1/stacks/{i['archivable']}/archive", None, "DDYY"),
    ("POST", "/api/v1/stacks/{stack_id}/unarchive",
     lambda i: f"/api/v1/stacks/{i['archivable']}/unarchive", None, "DDYY"),
    # Validation stores nothing, but only for someone signed in (OPEN lists no such row).
    ("POST", "/api/v1/stacks/validate", lambda i: "/api/v1/stacks/validate",
     lambda r: {"compose_yaml": COMPOSE}, "YYYY"),
    ("POST", "/api/v1/stacks/import", lambda i: "/api/v1/stacks/import",
     lambda r: {"text": _export(f"Imported by {r}")}, "DDYY"),
    ("GET", "/api/v1/stacks/{stack_id}/revisions/current",
     lambda i: f"/api/v1/stacks/{i['stack']}/revisions/current", None, "YYYY"),
    ("POST", "/api/v1/stacks/{stack_id}/restore",
     lambda i: f"/api/v1/stacks/{i['stack']}/restore", lambda r: {"number": 1}, "DDYY"),
    ("POST", "/api/v1/stacks/{stack_id}/duplicate",
     lambda i: f"/api/v1/stacks/{i['stack']}/duplicate",
     lambda r: {"name": f"Copy by {r}"}, "DDYY"),
    ("GET", "/api/v1/stacks/{stack_id}/export",
     lambda i: f"/api/v1/stacks/{i['stack']}/export?fmt=yaml", None, "YYYY"),
    ("GET", "/api/v1/deployments", lambda i: "/api/v1/deployments", None, "YYYY"),
    # The job queue's workers (this server has no Redis: no queue, past the check).
    ("GET", "/api/v1/workers", lambda i: "/api/v1/workers", None, "DYYY"),
    ("POST", "/api/v1/workers/dead/{dead_id}/retry",
     lambda i: "/api/v1/workers/dead/1-0/retry", None, "DNNN"),
    ("POST", "/api/v1/deployments", lambda i: "/api/v1/deployments",
     lambda r: {"stack_id": "{stack}", "target_ids": ["{target_" + r + "}"]}, "DYYY"),
    ("POST", "/api/v1/deployments/preview", lambda i: "/api/v1/deployments/preview",
     lambda r: {"stack_id": "{stack}", "target_id": "{target}"}, "DYYY"),
    ("GET", "/api/v1/deployments/{deployment_id}",
     lambda i: f"/api/v1/deployments/{i['deployment']}", None, "YYYY"),
    ("GET", "/api/v1/deployments/{deployment_id}/stages",
     lambda i: f"/api/v1/deployments/{i['deployment']}/stages", None, "YYYY"),
    ("GET", "/api/v1/deployments/{deployment_id}/logs",
     lambda i: f"/api/v1/deployments/{i['deployment']}/logs", None, "YYYY"),
    ("GET", "/api/v1/deployments/{deployment_id}/logs/page",
     lambda i: f"/api/v1/deployments/{i['deployment']}/logs/page?limit=10", None, "YYYY"),
    # Chunked JSON lines until the deployment ended (its target has no engine: soon).
    ("GET", "/api/v1/deployments/{deployment_id}/logs/follow",
     lambda i: f"/api/v1/deployments/{i['deployment']}/logs/follow", None, "YYYY"),
    ("GET", "/api/v1/deployments/current", lambda i: "/api/v1/deployments/current", None,
     "YYYY"),
    ("GET", "/api/v1/deployments/previous-values",
     lambda i: f"/api/v1/deployments/previous-values?stack_id={i['stack']}"
               f"&target_id={i['target']}", None, "YYYY"),
    ("POST", "/api/v1/deployments/{deployment_id}/redeploy",
     lambda i: f"/api/v1/deployments/{i['deployment']}/redeploy", lambda r: {}, "DYYY"),
    ("POST", "/api/v1/deployments/{deployment_id}/rollback",
     lambda i: f"/api/v1/deployments/{i['deployment']}/rollback", None, "DYYY"),
    ("POST", "/api/v1/deployments/{deployment_id}/{action}",
     lambda i: f"/api/v1/deployments/{i['deployment']}/stop", None, "DYYY"),
    ("GET", "/api/v1/users", lambda i: "/api/v1/users", None, "YYYY"),
    ("POST", "/api/v1/users", lambda i: "/api/v1/users",
     lambda r: {"username": f"made-by-{r}", "email": f"m-{r}@example.test",
                "password": PASSWORD}, "DDYY"),
    ("GET", "/api/v1/users/{user_id}", lambda i: f"/api/v1/users/{i['tess']}", None, "YYYY"),
    ("PUT", "/api/v1/users/{user_id}/role", lambda i: f"/api/v1/users/{i['tess']}/role",
     lambda r: {"role": "operator"}, "DDYY"),
    ("POST", "/api/v1/users/{user_id}/disable",
     lambda i: f"/api/v1/users/{i['tess']}/disable", None, "DDYY"),
    ("POST", "/api/v1/users/{user_id}/enable",
     lambda i: f"/api/v1/users/{i['tess']}/enable", None, "DDYY"),
    ("DELETE", "/api/v1/users/{user_id}", lambda i: f"/api/v1/users/{i['leaver']}", None,
     "DDYY"),
    # The same answer whether the login exists or not (no one learns who has an account).
    ("POST", "/api/v1/users/invitations", lambda i: "/api/v1/users/invitations",
     lambda r: {"login": f"someone-{r}", "role": "viewer"}, "DDYY"),
    ("GET", "/api/v1/organizations/{organization_id}",
     lambda i: f"/api/v1/organizations/{i['org']}", None, "YYYY"),
    ("GET", "/api/v1/organizations/{organization_id}/members",
     lambda i: f"/api/v1/organizations/{i['org']}/members", None, "YYYY"),
    # Everyone's own invitations (someone else's, or none, is not found).
    ("GET", "/api/v1/invitations", lambda i: "/api/v1/invitations", None, "YYYY"),
    ("POST", "/api/v1/invitations/{invitation_id}/accept",
     lambda i: f"/api/v1/invitations/{uuid.uuid4()}/accept", None, "NNNN"),
    ("POST", "/api/v1/invitations/{invitation_id}/decline",
     lambda i: f"/api/v1/invitations/{uuid.uuid4()}/decline", None, "NNNN"),
    ("GET", "/api/v1/activity", lambda i: "/api/v1/activity", None, "YYYY"),
    ("GET", "/api/v1/targets/{target_id}/updates",
     lambda i: f"/api/v1/targets/{i['target']}/updates", None, "YYYY"),
    ("GET", "/api/v1/targets/{target_id}/stats",
     lambda i: f"/api/v1/targets/{i['other_target']}/stats", None, "NNNN"),
    ("GET", "/api/v1/targets/{target_id}/disk",
     lambda i: f"/api/v1/targets/{i['other_target']}/disk", None, "NNNN"),
    ("DELETE", "/api/v1/targets/{target_id}/disk/{kind}/{ref}",
     lambda i: f"/api/v1/targets/{i['target']}/disk/volumes/nothing-here", None, "DYYY"),
    ("GET", "/api/v1/targets/{target_id}/disk/prune/{kind}",
     lambda i: f"/api/v1/targets/{i['other_target']}/disk/prune/volumes", None, "NNNN"),
    ("POST", "/api/v1/targets/{target_id}/disk/prune/{kind}",
     lambda i: f"/api/v1/targets/{i['other_target']}/disk/prune/volumes", None, "DNNN"),
    # The organization's latest round of update checks; a round now (its automatic
    # updates act as whoever chose them, not as the caller).
    ("GET", "/api/v1/updates", lambda i: "/api/v1/updates", None, "YYYY"),
    ("POST", "/api/v1/updates/check", lambda i: "/api/v1/updates/check", None, "YYYY"),
    ("GET", "/api/v1/targets/{target_id}/drift",
     lambda i: f"/api/v1/targets/{i['target']}/drift", None, "YYYY"),
    # What runs outside WindFlow (the target has no engine: past the check, a 400).
    ("GET", "/api/v1/targets/{target_id}/unmanaged",
     lambda i: f"/api/v1/targets/{i['target']}/unmanaged", None, "YYYY"),
    ("POST", "/api/v1/targets/{target_id}/adopt",
     lambda i: f"/api/v1/targets/{i['target']}/adopt",
     lambda r: {"project": "byhand", "stack_name": f"Adopted by {r}"}, "DYYY"),
    ("POST", "/api/v1/deployments/{deployment_id}/keep",
     lambda i: f"/api/v1/deployments/{i['deployment']}/keep", lambda r: {}, "DYYY"),
    ("GET", "/api/v1/activity/actors", lambda i: "/api/v1/activity/actors", None, "YYYY"),
    ("GET", "/api/v1/dashboard", lambda i: "/api/v1/dashboard", None, "YYYY"),
    ("GET", "/api/v1/auth/me", lambda i: "/api/v1/auth/me", None, "YYYY"),
    ("GET", "/api/v1/organizations", lambda i: "/api/v1/organizations", None, "YYYY"),
    # Everyone's own tokens (someone else's, or none, is not found).
    ("POST", "/api/v1/auth/tokens", lambda i: "/api/v1/auth/tokens",
     lambda r: {"name": f"ci of {r}", "expires_in_days": 1}, "YYYY"),
    ("GET", "/api/v1/auth/tokens", lambda i: "/api/v1/auth/tokens", None, "YYYY"),
    ("DELETE", "/api/v1/auth/tokens/{token_id}",
     lambda i: f"/api/v1/auth/tokens/{uuid.uuid4()}", None, "NNNN"),
    # Anyone signed in may start an organization (and owns it).
    ("POST", "/api/v1/organizations", lambda i: "/api/v1/organizations",
     lambda r: {"name": f"Org of {r}"}, "YYYY"),
]
# Another organization's objects: they do not exist for anyone here (a role without the
# permission is refused first).
OTHER_ORG: list[tuple[str, Callable[[Ids], str], Any, str]] = [
    ("GET", lambda i: f"/api/v1/stacks/{i['other_stack']}", None, "NNNN"),
    ("PATCH", lambda i: f"/api/v1/stacks/{i['other_stack']}", {"description": "x"}, "DDNN"),
    ("POST", lambda i: f"/api/v1/stacks/{i['other_stack']}/revisions",
     {"compose_yaml": COMPOSE}, "DDNN"),
    ("GET", lambda i: f"/api/v1/stacks/{i['other_stack']}/export", None, "NNNN"),
    ("POST", lambda i: f"/api/v1/stacks/{i['other_stack']}/duplicate", {"name": "Mine"},
     "DDNN"),
    ("GET", lambda i: f"/api/v1/deployments/previous-values?stack_id={i['other_stack']}"
                      f"&target_id={i['other_target']}", None, "NNNN"),
    ("GET", lambda i: f"/api/v1/targets/{i['other_target']}", None, "NNNN"),
    ("DELETE", lambda i: f"/api/v1/targets/{i['other_target']}", None, "DDNN"),
    ("GET", lambda i: f"/api/v1/targets/{i['other_target']}/containers", None, "NNNN"),
    ("GET", lambda i: f"/api/v1/targets/{i['other_target']}/unmanaged", None, "NNNN"),
    ("POST", lambda i: f"/api/v1/targets/{i['other_target']}/adopt",
     {"project": "byhand", "stack_name": "Stolen"}, "DNNN"),
    ("POST", lambda i: f"/api/v1/targets/{i['other_target']}/containers/web1/stop", None,
     "DNNN"),
    ("GET", lambda i: f"/api/v1/targets/{i['other_target']}/containers/web1/logs/follow",
     None, "NNNN"),
    ("POST", lambda i: "/api/v1/targets/health", {"target_ids": ["{other_target}"]},
     "NNNN"),
    ("POST", lambda i: "/api/v1/deployments",
     {"stack_id": "{other_stack}", "target_ids": ["{other_target}"]}, "DNNN"),
    ("GET", lambda i: f"/api/v1/deployments?stack_id={i['other_stack']}", None, "YYYY"),
    # Not a member there: refused; olga, made by create-owner, is a superuser and may.
    ("GET", lambda i: f"/api/v1/organizations/{i['other_org']}", None, "DDDY"),
    ("GET", lambda i: f"/api/v1/organizations/{i['other_org']}/members", None, "DDDY"),
    ("GET", lambda i: f"/api/v1/activity?organization_id={i['other_org']}", None, "DDDY"),
    ("GET", lambda i: f"/api/v1/dashboard?organization_id={i['other_org']}", None, "DDDY"),
]
OPEN = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"), ("GET", "/healthz"), ("GET", "/readyz"),
        ("GET", "/api/v1/events"),  # test_server_events.py: only one's own organization
        ("POST", "/api/v1/auth/logout-all"),  # test_server_access_tokens.py: one's own
        # test_remote_auth.py: one's own password, whatever the role
        ("POST", "/api/v1/auth/password"), ("POST", "/api/v1/auth/confirm-password")}


# WebSocket routes: not in the OpenAPI document; each has its own test here.
SOCKETS = {"/api/v1/targets/{target_id}/containers/{ref}/terminal":
           "test_the_terminal_socket_by_role"}


def _fill(value: Any, ids: Ids) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _verdict(response: httpx.Response) -> str:
    assert response.status_code < 500, response.text
    return {403: "D", 404: "N"}.get(response.status_code, "Y")


def test_every_route_is_in_the_matrix() -> None:
    from windflow_desktop.config import load_settings
    from windflow_desktop.server.app import create_app

    app = create_app(load_settings({"WINDFLOW_HOME": "/tmp/wf-routes-only"}))
    routes = {(method.upper(), path) for path, methods in app.openapi()["paths"].items()
              for method in methods}
    named = {(m, path) for m, path, _, _, _ in MATRIX} | OPEN
    assert routes - named == set(), "routes the RBAC matrix does not name"
    assert named - routes == set(), "the matrix names routes the app does not have"
    sockets = {f"/api/v1{route.path}" for module in _route_modules()
               for route in module.router.routes if isinstance(route, APIWebSocketRoute)}
    assert sockets == set(SOCKETS), "a WebSocket route needs its own RBAC test"


def _route_modules() -> list[Any]:
    import importlib
    import pkgutil

    from windflow_desktop.server import routes

    return [importlib.import_module(f"{routes.__name__}.{info.name}")
            for info in pkgutil.iter_modules(routes.__path__)]


@pytest.fixture
def team(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """A server's workspace: the SQLite file, or a team's PostgreSQL."""
    env = {"WINDFLOW_DATABASE_URL": database_url}
    create_owner(tmp_path, **env)
    return {"home": tmp_path, "env": env, "url": database_url}


def _sign_in(http: httpx.Client, user: str) -> dict[str, str]:
    return bearer(sign_in(http, user)["access_token"])


def _other_organization(url: str) -> Ids:
    """Another organization's stack and target, written straight into the workspace (as
    its own owner would have made them)."""

    async def make() -> Ids:
        backend = SqlBackend(url)
        await backend.open()
        try:
            async with backend.unit_of_work() as uow:
                org = await uow.organizations.add(Organization("Other", "other"))
                stack = await uow.stacks.add(Stack(org.id, "Theirs", "theirs"))
                target = await uow.targets.add(Target(org.id, "their-box"))
                await uow.commit()
        finally:
            await backend.close()
        return {"other_stack": str(stack.id), "other_target": str(target.id),
                "other_org": str(org.id)}

    return asyncio.run(make())


def test_the_rbac_matrix_over_http(team: dict[str, Any]) -> None:
    home = team["home"]
    ids: Ids = _other_organization(team["url"])
    with running_server(home, **team["env"]) as server, server.client() as http:
        owner = _sign_in(http, "olga")
        ids["org"] = http.get("/api/v1/auth/me", headers=owner).json()["organization_id"]
        users = {"owner": "olga"}
        for role, name in (("viewer", "vera"), ("operator", "otto"), ("admin", "ada")):
            made = http.post("/api/v1/users", headers=owner, json={
                "username": name, "email": f"{name}@example.test", "password": PASSWORD,
                "role": role})
            assert made.status_code == 201, made.text
            users[role] = name
        for name in ("tess", "leaver"):
            ids[name] = http.post("/api/v1/users", headers=owner, json={
                "username": name, "email": f"{name}@example.test",
                "password": PASSWORD}).json()["user"]["id"]

        def target(name: str) -> str:
            made = http.post("/api/v1/targets", headers=owner,
                             json={"name": name, "kind": "local",
                                   "docker_socket": f"unix://{home}/no-engine.sock"})
            assert made.status_code == 201, made.text
            return str(made.json()["id"])

        ids["no_engine"] = f"unix://{home}/no-engine.sock"
        ids["target"] = target("box")
        for role in ROLES:
            ids[f"target_{role}"] = target(f"box-{role}")
        stack = http.post("/api/v1/stacks", headers=owner,
                          json={"name": "Web", "compose_yaml": COMPOSE}).json()
        ids["stack"] = stack["stack"]["id"]
        ids["archivable"] = http.post("/api/v1/stacks", headers=owner, json={
            "name": "Old", "compose_yaml": COMPOSE}).json()["stack"]["id"]
        started = http.post("/api/v1/deployments", headers=owner,
                            json={"stack_id": ids["stack"], "target_ids": [ids["target"]]})
        assert started.status_code == 202, started.text
        ids["deployment"] = started.json()["deployments"][0]["id"]

        tokens = {role: _sign_in(http, users[role]) for role in ROLES}
        seen: dict[str, str] = {}
        for method, route, path, body, expected in MATRIX:
            for role, want in zip(ROLES, expected, strict=True):
                if route == "/api/v1/targets/{target_id}" and method == "DELETE":
                    ids["spare"] = target(f"spare-{role}-{uuid.uuid4().hex[:4]}")
                if route == "/api/v1/users/{user_id}" and method == "DELETE":
                    ids["leaver"] = http.post("/api/v1/users", headers=owner, json={
                        "username": f"l-{role}", "email": f"l-{role}@example.test",
                        "password": PASSWORD}).json()["user"]["id"]
                payload = _fill(body(role) if callable(body) else body, ids)
                answer = http.request(method, _fill(path(ids), ids), json=payload,
                                      headers=tokens[role])
                seen[f"{method} {route} as {role}"] = f"{_verdict(answer)} {answer.status_code}"
                assert _verdict(answer) == want, (method, route, role, answer.text)
        for method, path, body, expected in OTHER_ORG:
            for role, want in zip(ROLES, expected, strict=True):
                answer = http.request(method, _fill(path(ids), ids), json=_fill(body, ids),
                                      headers=tokens[role])
                assert _verdict(answer) == want, (method, path(ids), role, answer.text)
                if method == "GET" and "deployments?" in path(ids):
                    assert answer.json()["items"] == []


def _handshake(url: str, path: str, token: str | None) -> str:
    """The verdict on a WebSocket handshake (the refusal is its HTTP answer; a socket
    that opened is let through)."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with connect(url.replace("http", "ws", 1) + path, additional_headers=headers,
                     open_timeout=30):
            return "Y"
    except InvalidStatus as exc:
        status = exc.response.status_code
        assert status < 500, exc.response.body
        return {401: "A", 403: "D", 404: "N"}.get(status, "Y")


def test_the_terminal_socket_by_role(team: dict[str, Any]) -> None:
    """The container terminal (a WebSocket, so not in the matrix): a viewer is refused,
    an operator and up let through (the target's engine is not there: 400 past the
    check); another organization's target does not exist for those who may (a viewer
    is refused first); no token, no socket."""
    home = team["home"]
    ids = _other_organization(team["url"])
    with running_server(home, **team["env"]) as server, server.client() as http:
        owner = _sign_in(http, "olga")
        users = {"owner": "olga"}
        for role, name in (("viewer", "vera"), ("operator", "otto"), ("admin", "ada")):
            made = http.post("/api/v1/users", headers=owner, json={
                "username": name, "email": f"{name}@example.test", "password": PASSWORD,
                "role": role})
            assert made.status_code == 201, made.text
            users[role] = name
        made = http.post("/api/v1/targets", headers=owner, json={
            "name": "box", "kind": "local", "docker_socket": f"unix://{home}/no-engine.sock"})
        assert made.status_code == 201, made.text
        ours = f"/api/v1/targets/{made.json()['id']}/containers/web1/terminal?shell=sh"
        theirs = f"/api/v1/targets/{ids['other_target']}/containers/web1/terminal"
        tokens = {role: sign_in(http, users[role])["access_token"] for role in ROLES}
        assert [_handshake(server.url, ours, tokens[r]) for r in ROLES] == list("DYYY")
        # (as for the other containers actions: the permission is refused first)
        assert [_handshake(server.url, theirs, tokens[r]) for r in ROLES] == list("DNNN")
        assert _handshake(server.url, ours, None) == "A"
        assert _handshake(server.url, ours, "not-a-token") == "A"


def test_a_viewers_token_cannot_do_what_the_team_mode_review_found(
        team: dict[str, Any]) -> None:
    """The review's attacks on a shared database, replayed against the server: a viewer
    cannot make themselves owner, rewrite a revision, point a target's secret elsewhere,
    or publish anything (there is no route that takes an event)."""
    with running_server(team["home"], **team["env"]) as server, server.client() as http:
        owner = _sign_in(http, "olga")
        vera = http.post("/api/v1/users", headers=owner, json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD}).json()
        stack = http.post("/api/v1/stacks", headers=owner,
                          json={"name": "Web", "compose_yaml": COMPOSE}).json()["stack"]
        box = http.post("/api/v1/targets", headers=owner, json={
            "name": "box", "kind": "ssh", "host": "10.0.0.1", "username": "deploy",
            "auth": "password", "secret": "the-box-password"}).json()
        assert box["has_secret"] is True and "secret_ref" not in box
        viewer = _sign_in(http, "vera")
        assert http.put(f"/api/v1/users/{vera['user']['id']}/role", headers=viewer,
                        json={"role": "owner"}).status_code == 403
        assert http.post(f"/api/v1/stacks/{stack['id']}/revisions", headers=viewer, json={
            "compose_yaml": COMPOSE.replace("busybox", "evil")}).status_code == 403
        assert http.post("/api/v1/targets", headers=viewer, json={
            "name": "mine", "kind": "ssh", "host": "attacker.example", "username": "x",
            "auth": "password", "secret_ref": box["id"]}).status_code in (403, 422)
        assert http.post("/api/v1/events", headers=viewer, json={
            "event_type": "deployment.finished"}).status_code in (404, 405)
        me = http.get("/api/v1/auth/me", headers=viewer).json()
        assert me["role"] == "viewer"
        revisions = http.get(f"/api/v1/stacks/{stack['id']}/revisions", headers=owner).json()
        assert len(revisions["items"]) == 1

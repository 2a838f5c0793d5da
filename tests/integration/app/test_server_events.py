"""``GET /api/v1/events`` on a real ``windflow serve``: only the caller's organization's
events, ``Last-Event-ID`` resuming with every missed event exactly once, an id the
server cannot resume from answered with ``reset``, and a member removed from the
organization stops receiving at once."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import (
    COMPOSE,
    PASSWORD,
    EventStream,
    bearer,
    create_owner,
    running_server,
    sign_in,
)


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return bearer(tokens["access_token"])


def _stack(http: httpx.Client, tokens: dict[str, Any], name: str) -> str:
    made = http.post("/api/v1/stacks", headers=_bearer(tokens),
                     json={"name": name, "compose_yaml": COMPOSE})
    assert made.status_code == 201, made.text
    return str(made.json()["stack"]["id"])


def test_only_ones_own_organization_and_resume_exactly_once(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        olga = sign_in(http, "olga")
        http.post("/api/v1/users", headers=_bearer(olga), json={
            "username": "ivan", "email": "ivan@example.test", "password": PASSWORD,
            "role": "admin"})
        ivan = sign_in(http, "ivan")  # then into an organization of his own
        other = http.post("/api/v1/organizations", headers=_bearer(ivan),
                          json={"name": "Ivan's"}).json()
        ivan = http.post("/api/v1/auth/refresh", json={
            "refresh_token": ivan["refresh_token"], "organization_id": other["id"]}).json()

        olgas = EventStream(server.url, olga["access_token"])
        ivans = EventStream(server.url, ivan["access_token"])
        olgas.wait_for(lambda f: any(x["event"] == "ready" for x in f))
        ivans.wait_for(lambda f: any(x["event"] == "ready" for x in f))
        mine = _stack(http, olga, "Mine")
        theirs = _stack(http, ivan, "Theirs")
        olgas.wait_for(lambda f: any(x["event"] == "stack.created" for x in f))
        ivans.wait_for(lambda f: any(x["event"] == "stack.created" for x in f))
        assert [f["data"]["aggregate_id"] for f in olgas.of_type("stack.created")] == [mine]
        assert [f["data"]["aggregate_id"] for f in ivans.of_type("stack.created")] == [theirs]

        resume_from = olgas.of_type("stack.created")[-1]["id"]
        olgas.close()
        missed = [_stack(http, olga, f"Missed {n}") for n in range(3)]
        _stack(http, ivan, "Not for Olga")
        again = EventStream(server.url, olga["access_token"], last_event_id=resume_from)
        frames = again.wait_for(lambda f: len([x for x in f
                                               if x["event"] == "stack.created"]) >= 3)
        assert [f["data"]["aggregate_id"] for f in again.of_type("stack.created")] == missed
        ids = [f["id"] for f in frames if "id" in f]
        assert len(ids) == len(set(ids))
        after = _stack(http, olga, "Live again")
        again.wait_for(lambda f: any(x["event"] == "stack.created"
                                     and x["data"]["aggregate_id"] == after for x in f))
        assert len(again.of_type("stack.created")) == 4  # nothing twice

        unknown = EventStream(server.url, olga["access_token"], last_event_id="feedbeef-12")
        unknown.wait_for(lambda f: any(x["event"] == "reset" for x in f))
        assert unknown.ended.wait(5)
        for stream in (ivans, again):
            stream.close()


def test_a_removed_member_stops_receiving(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        olga = sign_in(http, "olga")
        vera = http.post("/api/v1/users", headers=_bearer(olga), json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD}).json()
        veras = EventStream(server.url, sign_in(http, "vera")["access_token"])
        veras.wait_for(lambda f: any(x["event"] == "ready" for x in f))
        _stack(http, olga, "Seen")
        veras.wait_for(lambda f: any(x["event"] == "stack.created" for x in f))
        removed = http.delete(f"/api/v1/users/{vera['user']['id']}", headers=_bearer(olga))
        assert removed.status_code == 204, removed.text
        assert veras.ended.wait(10), veras.frames
        assert veras.frames[-1]["event"] == "error"
        _stack(http, olga, "Not seen")
        assert len(veras.of_type("stack.created")) == 1


def test_on_a_teams_redis_a_client_resumes_across_a_server_restart(
        tmp_path: Path, redis_url: str) -> None:
    """The feed is a Redis stream: events from before a restart are replayed from the
    client's ``Last-Event-ID``, each once, and the stream goes on live."""
    create_owner(tmp_path)
    with running_server(tmp_path, WINDFLOW_REDIS_URL=redis_url) as server, \
            server.client() as http:
        olga = sign_in(http, "olga")
        stream = EventStream(server.url, olga["access_token"])
        stream.wait_for(lambda f: any(x["event"] == "ready" for x in f))
        first = _stack(http, olga, "Before")
        stream.wait_for(lambda f: any(x["event"] == "stack.created" for x in f))
        resume_from = stream.of_type("stack.created")[-1]["id"]
        stream.close()
        missed = [_stack(http, olga, f"Missed {n}") for n in range(3)]
    with running_server(tmp_path, WINDFLOW_REDIS_URL=redis_url) as server, \
            server.client() as http:
        olga = sign_in(http, "olga")  # the signing key is sealed: the old token would do
        again = EventStream(server.url, olga["access_token"], last_event_id=resume_from)
        frames = again.wait_for(lambda f: len([x for x in f
                                               if x["event"] == "stack.created"]) >= 3)
        created = [f["data"]["aggregate_id"] for f in again.of_type("stack.created")]
        assert created == missed and first not in created
        after = _stack(http, olga, "After the restart")
        again.wait_for(lambda f: any(x["event"] == "stack.created"
                                     and x["data"]["aggregate_id"] == after for x in f))
        ids = [f["id"] for f in again.frames if "id" in f and f["event"] != "ready"]
        assert len(ids) == len(set(ids)) and len(again.of_type("stack.created")) == 4
        assert frames  # the backlog came before the live event
        again.close()


def test_at_sigterm_open_streams_end_quietly_and_the_server_stops(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        olga = sign_in(http, "olga")
        streams = [EventStream(server.url, olga["access_token"]) for _ in range(3)]
        for stream in streams:
            stream.wait_for(lambda f: any(x["event"] == "ready" for x in f))
        server.process.terminate()
        for stream in streams:  # ended by the server, without a reset: clients resume
            assert stream.ended.wait(10)
            assert [f["event"] for f in stream.frames] == ["ready"], stream.frames
        # uvicorn raises the signal again once it has shut down (the exit says why)
        assert server.process.wait(30) in (0, -signal.SIGTERM)
    output = "\n".join(p.read_text() for p in tmp_path.glob("serve-*.out"))
    assert "graceful shutdown exceeded" not in output, output
    assert "Traceback" not in output, output

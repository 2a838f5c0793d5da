"""Update checks in server mode: ``windflow serve`` checks on its own schedule
(``WINDFLOW_UPDATES_INTERVAL_S``), with no desktop asking; an ``auto`` stack's deployment
is updated by the server itself, acting as the person who chose ``auto``; ``GET
/api/v1/updates`` answers the latest round (what ``RemoteUpdateSweeps`` decodes) and a
viewer reads it too."""

from __future__ import annotations

import time
import uuid
from itertools import pairwise
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.registry import Registry, registry  # noqa: F401 - fixture
from tests.support.deploy import compose_v2_config
from tests.support.server import PASSWORD, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.updates import AutoOutcome, UpdateSweep
from windflow_desktop.remote.decode import decode

pytestmark = pytest.mark.docker

STACK = """\
services:
  app:
    image: {image}
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""
# The server's schedule (WINDFLOW_UPDATES_INTERVAL_S): a round's automatic updates are told
# by GET /api/v1/updates until the next round replaces it, about this long after they ended.
INTERVAL_S = 5


def _push(engine: DockerEngine, reference: str) -> str:
    """A new image pushed under ``reference``; the engine's tag is put back on the image
    it had before (as if it never pulled since). The new image's id."""
    before = engine.cli("image", "inspect", "-f", "{{.Id}}", reference, check=False).strip()
    box = f"build-{uuid.uuid4().hex[:6]}"
    engine.cli("run", "--name", box, BUSYBOX_IMAGE, "sh", "-c",
               f"echo {uuid.uuid4().hex} > /version")
    new = engine.cli("commit", box, reference).strip()
    engine.cli("rm", box)
    engine.cli("push", reference)
    # At once: a round may find the push from here on, and this tag coming between its
    # update's pull and the update's start would start the old image.
    if before:
        engine.cli("tag", before, reference)
    return new


def _running_image(engine: DockerEngine, project: str) -> str:
    [cid] = engine.cli("ps", "-q", "--filter",
                       f"label=com.docker.compose.project={project}").split()
    return engine.cli("inspect", "-f", "{{.Image}}", cid).strip()


def _until(what: str, check: object, timeout: float = 60.0, every: float = 0.5) -> object:
    """``check()`` once it answers; an AssertionError after ``timeout`` (shorter than the
    test's own time limit: the message is seen, not a pytest-timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()  # type: ignore[operator]
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


def test_the_server_checks_on_its_schedule_and_updates_auto_stacks(
    tmp_path: Path, docker_engine: DockerEngine, registry: Registry  # noqa: F811
) -> None:
    home = tmp_path / "server"
    home.mkdir()
    create_owner(home)
    reference = f"{registry.host}/wf-srv-{uuid.uuid4().hex[:6]}:1"
    docker_engine.cli("tag", BUSYBOX_IMAGE, reference)
    docker_engine.cli("push", reference)
    old_id = docker_engine.cli("image", "inspect", "-f", "{{.Id}}", reference).strip()
    with running_server(home, DOCKER_CONFIG=str(compose_v2_config(home)), HOME=str(home),
                        WINDFLOW_UPDATES_INTERVAL_S=str(INTERVAL_S)) as server, \
            server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        target = http.post("/api/v1/targets", headers=owner, json={
            "name": "laptop", "kind": "local", "docker_socket": docker_engine.host})
        assert target.status_code == 201, target.text
        stack = http.post("/api/v1/stacks", headers=owner, json={
            "name": "app", "compose_yaml": STACK.format(image=reference)})
        assert stack.status_code == 201, stack.text
        stack_id = stack.json()["stack"]["id"]
        changed = http.patch(f"/api/v1/stacks/{stack_id}", headers=owner,
                             json={"update_policy": "auto"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["update_policy"] == "auto"
        assert http.patch(f"/api/v1/stacks/{stack_id}", headers=owner,
                          json={"update_policy": "sometimes"}).status_code == 422
        started = http.post("/api/v1/deployments", headers=owner, json={
            "stack_id": stack_id, "target_ids": [target.json()["id"]]})
        assert started.status_code == 202, started.text
        [first] = started.json()["deployments"]

        def ended() -> dict[str, str] | None:
            dep = http.get(f"/api/v1/deployments/{first['id']}", headers=owner).json()
            return dep if dep["status"] not in ("pending", "running") else None

        done = _until("the first deployment", ended)
        assert done["status"] == "succeeded", done  # type: ignore[index]
        project = first["project_name"]
        assert _running_image(docker_engine, project) == old_id

        # A latest round exists from here on (GET /updates makes one if the schedule had
        # not yet): every round after the push is the schedule's, none a read's.
        before = http.get("/api/v1/updates", headers=owner)
        assert before.status_code == 200, before.text
        assert decode(UpdateSweep, before.json()).automatic == ()
        new_id = _push(docker_engine, reference)

        # No one asks for a check: the server's schedule finds the update and deploys it.
        # The round that did tells of it as the latest round only until the next round
        # (INTERVAL_S later) replaces it — a round tells of its own updates. So it is read
        # often, and a wait that ends without it says what the rounds told and how long
        # the longest time between two reads was.
        reads: list[float] = []
        told: list[str] = []

        def updated() -> UpdateSweep | None:
            reads.append(time.monotonic())
            answer = http.get("/api/v1/updates", headers=owner, timeout=30)
            assert answer.status_code == 200, answer.text
            sweep = decode(UpdateSweep, answer.json())
            told.extend(str(a) for a in sweep.automatic if str(a) not in told)
            failed = [str(a) for a in sweep.automatic if a.outcome is AutoOutcome.FAILED]
            assert not failed, failed  # not tried again: no use waiting
            return sweep if any(a.outcome is AutoOutcome.UPDATED
                                for a in sweep.automatic) else None

        try:
            sweep = _until("the automatic update", updated, timeout=90, every=0.2)
        except AssertionError as exc:
            gap = max((b - a for a, b in pairwise(reads)), default=0.0)
            raise AssertionError(
                f"{exc}; told: {told}; longest time between two reads {gap:.1f} s "
                f"(a round is the latest for about {INTERVAL_S} s); the deployments: "
                f"{http.get('/api/v1/deployments', headers=owner).json()['items']}") from exc
        [auto] = sweep.automatic  # type: ignore[union-attr]
        assert auto.target_name == "laptop" and auto.images == (reference,)
        assert _running_image(docker_engine, project) == new_id
        newest = http.get(f"/api/v1/deployments/{auto.new_deployment_id}",
                          headers=owner).json()
        assert newest["status"] == "succeeded" and newest["pull_images"]
        me = http.get("/api/v1/auth/me", headers=owner).json()
        assert newest["actor_id"] == me["user"]["id"]  # as who chose auto

        # A viewer reads the latest round; asking for one now answers one.
        made = http.post("/api/v1/users", headers=owner, json={
            "username": "vic", "email": "vic@example.test", "password": PASSWORD})
        assert made.status_code == 201, made.text
        viewer = bearer(sign_in(http, "vic")["access_token"])
        latest = http.get("/api/v1/updates", headers=viewer)
        assert latest.status_code == 200, latest.text
        assert decode(UpdateSweep, latest.json()).results
        now = http.post("/api/v1/updates/check", headers=owner, timeout=60)
        assert now.status_code == 200, now.text
        assert decode(UpdateSweep, now.json()).problems == {}

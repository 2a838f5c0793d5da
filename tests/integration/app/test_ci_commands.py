"""``windflow deploy --wait`` as a CI job runs it: a subprocess with a personal access
token against a real server whose target is the test engine. Exit 0 when the deployment
succeeded (its log printed as it came), 1 when it failed, 3 when a later revision fell
over and was rolled back to the last good one; 2 with a clear line when the command
cannot be carried out (no such stack, a refused token). ``status`` and ``logs`` read
a deployment back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.deploy import compose_v2_config
from tests.support.server import Server, bearer, create_owner, running_server, sign_in

pytestmark = pytest.mark.docker

GOOD = """\
services:
  web:
    image: localhost/busybox
    command: ["sh", "-c", "echo hello from ${GREETING}; exec sleep 1000000"]
    stop_signal: SIGKILL
"""
CRASHES = """\
services:
  web:
    image: localhost/busybox
    command: ["sh", "-c", "echo going down; exit 3"]
    stop_signal: SIGKILL
"""


@dataclass
class Ci:
    server: Server
    token: str
    owner: dict[str, str]

    def windflow(self, *args: str, token: str | None = None
                 ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
        env.update(WINDFLOW_SERVER_URL=self.server.url,
                   WINDFLOW_SERVER_TOKEN=self.token if token is None else token)
        return subprocess.run([sys.executable, "-m", "windflow_desktop.cli", *args],
                              env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory, docker_engine: DockerEngine) -> Iterator[Ci]:
    home = tmp_path_factory.mktemp("server")
    create_owner(home)
    with running_server(home, DOCKER_CONFIG=str(compose_v2_config(home)),
                        HOME=str(home)) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/targets", headers=owner, json={
            "name": "laptop", "kind": "local", "docker_socket": docker_engine.host})
        assert made.status_code == 201, made.text
        for name, compose in (("web", GOOD), ("crashes", CRASHES)):
            made = http.post("/api/v1/stacks", headers=owner, json={
                "name": name, "compose_yaml": compose,
                "variables": [{"name": "GREETING", "default": "ci"}]})
            assert made.status_code == 201, made.text
        token = http.post("/api/v1/auth/tokens", headers=owner,
                          json={"name": "ci", "expires_in_days": 1})
        assert token.status_code == 201, token.text
        yield Ci(server, token.json()["token"], owner)


def test_succeeded_failed_and_rolled_back_exit_codes(ci: Ci) -> None:
    done = ci.windflow("deploy", "web", "--to", "laptop", "--var", "GREETING=the pipeline",
                       "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello from the pipeline" in done.stdout or "up" in done.stdout
    assert done.stdout.strip().splitlines()[-1].endswith("succeeded")
    deployment = done.stdout.split()[1]
    assert ci.windflow("status", deployment).returncode == 0
    assert ci.windflow("logs", deployment).stdout.strip()

    failed = ci.windflow("deploy", "crashes", "--to", "laptop", "--wait")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "failed" in failed.stdout.strip().splitlines()[-1]

    # A second revision of "web" that falls over: rolled back to the first.
    with ci.server.client() as http:
        stacks = http.get("/api/v1/stacks", headers=ci.owner).json()["items"]
        web = next(s for s in stacks if s["name"] == "web")
        saved = http.post(f"/api/v1/stacks/{web['id']}/revisions", headers=ci.owner,
                          json={"compose_yaml": CRASHES})
        assert saved.status_code == 201, saved.text
    rolled = ci.windflow("deploy", "web", "--to", "laptop", "--wait")
    assert rolled.returncode == 3, rolled.stdout + rolled.stderr
    assert "rolled_back" in rolled.stdout.strip().splitlines()[-1]


def test_what_cannot_be_done_is_said(ci: Ci) -> None:
    missing = ci.windflow("deploy", "nowhere", "--to", "laptop")
    assert missing.returncode == 2
    assert "there is no stack called nowhere" in missing.stderr
    refused = ci.windflow("status", "00000000-0000-0000-0000-000000000000",
                          token="wf_pat_not-a-token")
    assert refused.returncode == 2 and "windflow:" in refused.stderr


def test_no_server_named(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
    done = subprocess.run([sys.executable, "-m", "windflow_desktop.cli", "status", "x"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "WINDFLOW_SERVER_URL" in done.stderr

"""The deploy preview on a real engine (local target, Compose v2): ``compose config`` runs
with the real values but shows secret ones masked — declared secrets and generated
values alike — and it names the host access the revision needs. Validation runs in a
worker thread, never on the loop's thread (the Qt thread in the app)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.env.services import free_port
from tests.support.deploy import local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.variables import SECRET_MASK
from windflow_desktop.engine import compose_validation
from windflow_desktop.services.deploy import preview as deploy_preview
from windflow_desktop.services.deploy import run as deploy_run
from windflow_desktop.services.deploy.values import SECRET_REF

# tests/env/docker.py (issue 5) leaves dockerd's log file object to the process.
pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

STACK = """\
services:
  web:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:${WEB_PORT}:8080"]
    environment:
      DB_PASSWORD: "${DB_PASSWORD}"
      SESSION_KEY: "${SESSION_KEY}"
      GREETING: "${GREETING}"
    cap_add: [NET_ADMIN]
"""
VARIABLES = [
    {"name": "WEB_PORT", "required": True},
    {"name": "DB_PASSWORD", "secret": True},
    {"name": "SESSION_KEY", "generator": "password"},  # no `secret:`: secret all the same
    {"name": "GREETING"},
]


async def test_the_preview_masks_secret_values_and_names_host_access(
        docker_engine: DockerEngine, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real = compose_validation.validate_compose

    def spy(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(deploy_preview, "validate_compose", spy)
    monkeypatch.setattr(deploy_run, "validate_compose", spy)
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="Masked", compose_yaml=STACK,
                                               variables=VARIABLES)
        port = free_port()
        values = {"WEB_PORT": str(port), "DB_PASSWORD": "pa$$word\"q", "GREETING": "hello",
                  "SESSION_KEY": "generated-looking-key"}
        preview = await g.deployments.preview(g.admin, stack.id, target.id, values)
        assert "GREETING: hello" in preview.config  # compose config ran with the values
        assert "generated-looking-key" not in preview.config
        assert "pa$$word" not in preview.config and "pa$$$$word" not in preview.config
        assert preview.config.count(SECRET_MASK) == 2, preview.config
        assert preview.host_access == ("web: cap_add NET_ADMIN",)
        assert threads and threading.main_thread() not in threads

        # compose config refuses the value and quotes it: the check's text is masked too
        bad, _ = await g.stacks.create_stack(
            g.admin, name="Bad port", compose_yaml=STACK.replace("${WEB_PORT}:8080",
                                                                 "${DB_PASSWORD}:8080"),
            variables=VARIABLES)
        preview = await g.deployments.preview(g.admin, bad.id, target.id,
                                              {**values, "DB_PASSWORD": "notaport-s3cret"})
        failed = [c for c in preview.checks if not c.ok]
        assert failed and any(SECRET_MASK in c.detail for c in failed), failed
        assert not any("s3cret" in c.detail for c in preview.checks), preview.checks

        # A generated value nobody declared secret goes to the keyring, not the row.
        await g.stacks.update_stack(g.admin, stack.id, host_access=True)
        threads.clear()
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [target.id], variables={"WEB_PORT": str(port),
                                                       "DB_PASSWORD": "x"})).wait()
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        assert isinstance(dep.variables["SESSION_KEY"], dict)
        assert set(dep.variables["SESSION_KEY"]) == {SECRET_REF}
        assert threads and threading.main_thread() not in threads
        await g.deployments.remove(g.admin, dep.id, volumes=True)

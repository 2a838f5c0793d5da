"""Projects started outside WindFlow, for the adoption tests: ``APP`` (a Compose file a
user started by hand), ``compose_up`` (start it as a user would, with plain ``docker
compose``), ``ids_of`` (service → container id of a project) and ``remove`` (take a
project's containers away; the engine outlives the test)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.env.docker import DockerEngine
from tests.support.deploy import compose_v2_config

APP = """\
# started by hand, long before WindFlow
services:
  web:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    environment:
      GREETING: "${GREETING:-hello}"
      DB_PASSWORD: "${DB_PASSWORD}"
    volumes: ["data:/data"]
    stop_signal: SIGKILL
  worker:
    image: localhost/busybox
    command: ["sh", "-c", "echo $$HOSTNAME; sleep 1000000"]
    stop_signal: SIGKILL
volumes:
  data: {}
"""


def compose_up(engine: DockerEngine, folder: Path, project: str, base: Path,
               files: tuple[str, ...] = ("compose.yaml",)) -> None:
    """``docker compose -p project -f folder/compose.yaml up -d``, as a user would."""
    env = {**os.environ, "DOCKER_HOST": engine.host,
           "DOCKER_CONFIG": str(compose_v2_config(base))}
    named = [arg for f in files for arg in ("-f", str(folder / f))]
    done = subprocess.run(["docker", "compose", "-p", project, *named, "up", "-d"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def ids_of(engine: DockerEngine, project: str) -> dict[str, str]:
    """service → container id of ``project``'s containers."""
    out = engine.cli("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}")
    ids = out.split()
    if not ids:
        return {}
    return {c["Config"]["Labels"]["com.docker.compose.service"]: c["Id"]
            for c in json.loads(engine.cli("inspect", *ids))}


def remove(engine: DockerEngine, project: str) -> None:
    """Take ``project``'s containers away (the engine outlives the test)."""
    ids = engine.cli("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}",
                     check=False).split()
    if ids:
        engine.cli("rm", "-f", *ids, check=False)

"""Compose never takes a stack's values from the app's own environment: a variable set
in this process (a token, ``WINDFLOW_DATABASE_URL``) neither fills an empty one nor
overrides a value of the ``.env`` file; a variable the spec does not declare is refused
even with a default; and a stack cannot declare the variables Docker and Compose read
themselves (real engine, local target, Compose v2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.deploy import container_env, local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.variables import VariableSpec
from windflow_desktop.engine.compose_validation import validate_compose

ECHO = """\
services:
  echo:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    environment:
      CHOSEN: "${CHOSEN}"
      EMPTY: "${EMPTY}"
    stop_signal: SIGKILL
"""
ECHO_VARIABLES = [{"name": "CHOSEN"}, {"name": "EMPTY"}]


async def test_the_apps_environment_never_reaches_a_container(
        docker_engine: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOSEN", "the-apps-own-chosen")
    monkeypatch.setenv("EMPTY", "the-apps-own-token")
    monkeypatch.setenv("WINDFLOW_DATABASE_URL", "postgresql://wf:db-password@db/wf")
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="Echo", compose_yaml=ECHO,
                                               variables=ECHO_VARIABLES)
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [target.id], variables={"CHOSEN": "from-the-stack"})).wait()
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        env = container_env(docker_engine, dep.project_name)
        assert env["CHOSEN"] == "from-the-stack"
        assert env["EMPTY"] == ""
        leaked = [v for v in env.values() if "the-apps-own" in v or "db-password" in v]
        assert leaked == []
        await g.deployments.remove(g.admin, dep.id, volumes=True)


def test_an_undeclared_variable_is_refused_even_with_a_default() -> None:
    text = ('services:\n  web:\n    image: localhost/busybox\n'
            '    environment:\n      TOKEN: "${WINDFLOW_DATABASE_URL:-}"\n'
            '      PORT: "${PORT:-80}"\n')
    report = validate_compose(text, [VariableSpec("PORT", default="80")])
    errors = [str(i) for i in report.errors]
    assert len(errors) == 1 and "WINDFLOW_DATABASE_URL is used but not declared" in errors[0]


async def test_stacks_with_undeclared_or_reserved_variables_never_run(
        docker_engine: DockerEngine, tmp_path: Path) -> None:
    sneaky = ECHO.replace('"${EMPTY}"', '"${HOME:-}"')
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        with pytest.raises(ValidationError, match="HOME is used but not declared"):
            await g.stacks.create_stack(g.admin, name="Sneaky", compose_yaml=sneaky,
                                        variables=[{"name": "CHOSEN"}])
        # A variable Compose itself reads from .env (another engine, other files).
        aimed = ECHO.replace('"${EMPTY}"', '"${DOCKER_HOST}"')
        stack, _ = await g.stacks.create_stack(
            g.admin, name="Aimed", compose_yaml=aimed,
            variables=[{"name": "CHOSEN"}, {"name": "DOCKER_HOST"}])
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [target.id],
            variables={"DOCKER_HOST": "tcp://127.0.0.1:1"})).wait()
        assert dep.status is DeploymentStatus.FAILED
        assert "DOCKER_HOST is reserved for Docker and Compose" in (dep.error or "")
        assert docker_engine.cli("ps", "-aq", "--filter",
                                 f"label=com.docker.compose.project={dep.project_name}") == ""

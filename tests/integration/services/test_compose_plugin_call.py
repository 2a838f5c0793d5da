"""Compose v2 is called as its plugin binary, found where the docker CLI would find it
(``docker compose`` starts the docker CLI only to look the plugin up — ≈35 ms on every
command); a docker config naming other plugin folders, or no plugin in the usual ones,
falls back to ``docker compose`` (real engine, local target)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.env.docker import DockerEngine
from tests.support.deploy import STACK, compose_v2_config
from windflow_desktop.engine.compose import ComposeProject
from windflow_desktop.engine.executor import LocalExecutor


def _logging_plugin(config: Path, log: Path) -> None:
    """Put a plugin in front of the real one that notes each call's arguments."""
    plugins = config / "cli-plugins"
    real = plugins / "docker-compose.real"
    (plugins / "docker-compose").rename(real)
    wrapper = plugins / "docker-compose"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)


async def _config(docker_engine: DockerEngine, config: Path, root: Path) -> None:
    executor = LocalExecutor(env={"DOCKER_HOST": docker_engine.host,
                                  "DOCKER_CONFIG": str(config)})
    project = ComposeProject(executor, "wf-plugin-0123abcd", str(root))
    await project.stage(STACK, {"GREETING": "x", "WEB_PORT": "8080",
                                "ADMIN_PASSWORD": "pw"})
    model = await project.config(staged=True)
    assert set(model["services"]) == {"web", "worker", "cache"}


async def test_compose_v2_runs_as_its_plugin_binary(docker_engine: DockerEngine,
                                                   tmp_path: Path) -> None:
    config = compose_v2_config(tmp_path)
    log = tmp_path / "calls"
    _logging_plugin(config, log)
    await _config(docker_engine, config, tmp_path / "root")
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("-p wf-plugin-0123abcd"), calls


async def test_other_plugin_folders_fall_back_to_docker_compose(
        docker_engine: DockerEngine, tmp_path: Path) -> None:
    config = compose_v2_config(tmp_path)
    (config / "config.json").write_text(json.dumps({"cliPluginsExtraDirs": ["/nowhere"]}))
    log = tmp_path / "calls"
    _logging_plugin(config, log)
    await _config(docker_engine, config, tmp_path / "root")
    calls = log.read_text().splitlines()
    # The docker CLI asks the plugin for its metadata, then runs it as "compose …".
    assert calls[0] == "docker-cli-plugin-metadata"
    assert calls[-1].startswith("compose -p wf-plugin-0123abcd"), calls

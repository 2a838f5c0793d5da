"""The file log (``configure_logging``) redacts secrets by their shape, and masks the
secret values of a deployment while it runs in this process — like its own log does."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.auth import RecordingBus
from tests.support.databases import sqlite_url
from tests.support.deploy import STACK, VARIABLES, build_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.events import Event
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.logging_setup import configure_logging
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.redaction import KNOWN_SECRETS

SECRET = "known-Secret-value-42"


@pytest.fixture
def file_log(tmp_path: Path) -> Iterator[Path]:
    """The app's file log in ``tmp_path``; what it changed is put back afterwards."""
    root, ours = logging.getLogger(), logging.getLogger("windflow")
    levels = root.level, ours.level
    path = configure_logging(tmp_path / "logs", logging.DEBUG, console=False)
    try:
        yield path
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "windflow", False):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(levels[0])
        ours.setLevel(levels[1])


def test_secret_shapes_never_reach_the_file_log(file_log: Path) -> None:
    log = logging.getLogger("windflow.engine")
    log.warning("compose env: POSTGRES_PASSWORD=pg-pw-1 POSTGRES_USER=wf")
    log.warning('config %s', '{"password": "json-pw-2", "port": 5432}')
    log.warning("bus at redis://:redis-pw-3@127.0.0.1:6379/0")
    log.warning("webhook header api-key=key-pw-4")
    text = file_log.read_text()
    for secret in ("pg-pw-1", "json-pw-2", "redis-pw-3", "key-pw-4"):
        assert secret not in text
    assert "POSTGRES_USER=wf" in text and "127.0.0.1:6379/0" in text


class TalkativeBus(RecordingBus):
    """A component that logs what it sees while the deployment runs (here: the secret
    value the deployment uses, as a library printing its input would)."""

    async def publish(self, event: Event) -> None:
        await super().publish(event)
        if event.event_type == "deployment.stage_changed":
            logging.getLogger("windflow.bus").warning("stage of a deployment using %s", SECRET)


async def test_a_running_deployments_secret_values_are_masked_in_the_file_log(
        file_log: Path, tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        g.core.context.services.bus = TalkativeBus()
        target = await g.add_target("here", LocalExecutor(env={
            "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}))
        stack, _ = await g.stacks.create_stack(g.admin, name="Web", compose_yaml=STACK,
                                               variables=VARIABLES)
        rollout = await g.deployments.deploy(
            g.admin, stack.id, [target.id],
            variables={"GREETING": "hi", "WEB_PORT": "8080", "ADMIN_PASSWORD": SECRET})
        [dep] = await rollout.wait()
        await g.deployments.shutdown()
    finally:
        await backend.close()
    assert dep.status is not DeploymentStatus.SUCCEEDED  # no engine there: it ran and failed
    text = file_log.read_text()  # noqa: ASYNC240 - the run is over
    assert "stage of a deployment using ********" in text
    assert SECRET not in text
    assert SECRET not in KNOWN_SECRETS.values()  # only while it runs

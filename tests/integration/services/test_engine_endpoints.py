"""Engine endpoints: a local target takes only a local socket (``tcp://`` points to the
``docker_tcp`` kind), and a deployment over TCP+TLS gives Compose exactly the CA,
certificate and key the target names — not the ``ca.pem``/``cert.pem``/``key.pem`` that
happen to sit in the same folder (real dockerd with its TLS listener, Compose v2)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.deploy import compose_v2_config, local_deploy_graph
from tests.support.target import TargetWorld
from windflow_desktop.domain.enums import DeploymentStatus, TargetAuth, TargetKind
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.models import Target
from windflow_desktop.engine.pool import EngineSettings, ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts

STACK = """\
services:
  app:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""


@pytest.mark.parametrize("socket", ["tcp://127.0.0.1:2375", "http://127.0.0.1:2375",
                                    "ssh://me@host", "https://127.0.0.1:2376"])
async def test_a_local_target_refuses_an_engine_over_tcp(target_world: TargetWorld,
                                                         socket: str) -> None:
    w = target_world
    with pytest.raises(ValidationError, match="docker_tcp") as info:
        await w.targets.create_target(w.owner, w.local_spec("plain", socket=socket))
    assert info.value.field == "docker_socket"
    for fine in ("unix:///var/run/docker.sock", "/run/user/1000/docker.sock",
                 "npipe:////./pipe/docker_engine"):
        made = await w.targets.create_target(w.owner, w.local_spec(f"t{len(fine)}", fine))
        assert made.docker_socket == fine
    # A row stored before this rule is refused where the engine is reached.
    stored = Target(organization_id=made.organization_id, name="old", kind=TargetKind.LOCAL,
                    docker_socket=socket)
    with pytest.raises(ValidationError, match="docker_tcp"):
        await w.pool.executor(stored)


async def test_deploy_over_tls_uses_exactly_the_chosen_files(
        docker_engine: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tls = docker_engine.tls
    chosen = tmp_path / "certs"
    chosen.mkdir()
    shutil.copy(tls.ca, chosen / "engine-ca.crt")
    shutil.copy(tls.client_cert, chosen / "me.crt")
    shutil.copy(tls.client_key, chosen / "me.key")
    # Decoys where Docker looks by default: a CA that signed nothing of the engine's and
    # a client pair the engine does not trust.
    shutil.copy(tls.wrong_ca, chosen / "ca.pem")
    shutil.copy(tls.wrong_ca, chosen / "cert.pem")
    shutil.copy(tls.ca.parent / "wrong-ca-key.pem", chosen / "key.pem")
    monkeypatch.setenv("DOCKER_CONFIG", str(compose_v2_config(tmp_path)))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), _no_secret,
                        settings=EngineSettings())
    async with local_deploy_graph(tmp_path, docker_engine) as (g, _):
        async with g.backend.unit_of_work() as uow:
            target = await uow.targets.add(Target(
                organization_id=g.org_id, name="tls", kind=TargetKind.DOCKER_TCP,
                host="127.0.0.1", port=docker_engine.tls_port, auth=TargetAuth.NONE,
                tls={"ca_file": str(chosen / "engine-ca.crt"),
                     "cert_file": str(chosen / "me.crt"), "key_file": str(chosen / "me.key")}))
            await uow.commit()
        g.executors.by_target[target.id] = await pool.executor(target)
        stack, _ = await g.stacks.create_stack(g.admin, name="Tls", compose_yaml=STACK)
        [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        ids = docker_engine.cli("ps", "-q", "--filter",
                                f"label=com.docker.compose.project={dep.project_name}").split()
        assert len(ids) == 1
        removed = await g.deployments.remove(g.admin, dep.id, volumes=True)
        assert removed.status is DeploymentStatus.REMOVED
    # The private copies were removed after each command.
    assert list(temp.iterdir()) == []


async def _no_secret(name: str) -> str | None:
    return None


async def test_an_ssh_target_takes_a_socket_path_on_the_host(target_world: TargetWorld) -> None:
    w = target_world
    with pytest.raises(ValidationError, match="path on the host") as info:
        await w.targets.create_target(w.owner, w.ssh_spec("s1", docker_socket="tcp://h:2375"))
    assert info.value.field == "docker_socket"
    made = await w.targets.create_target(
        w.owner, w.ssh_spec("s2", docker_socket="unix:///run/docker.sock"))
    assert made.docker_socket == "unix:///run/docker.sock"

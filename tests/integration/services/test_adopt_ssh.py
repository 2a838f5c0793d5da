"""Adopting on an SSH target: the project's files live on the target (the SSH user's
home), are read there through the target's SSH executor and its engine is listed over
the forwarded socket; then a redeploy from WindFlow over SSH keeps the project's name."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.env.keyring_backend import MemoryKeyring
from tests.env.sshd import SshServer, sshd_server  # noqa: F401 - fixture
from tests.support.adopt import APP, remove
from tests.support.databases import sqlite_url
from tests.support.deploy import build_graph
from tests.support.target import engine_settings
from windflow_desktop.domain.enums import DeploymentStatus, TargetAuth, TargetKind
from windflow_desktop.domain.models import Target
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts, SshEndpoint, SshTarget
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.adopt import AdoptService
from windflow_desktop.services.common import ServiceContext

pytestmark = pytest.mark.docker


class OnePool(ExecutorPool):
    """The pool with the test's SSH connection for its one SSH target."""

    def __init__(self, ssh: SshTarget, known: Path) -> None:
        super().__init__(KnownHosts(known), SecretStore(MemoryKeyring()).aget,
                         settings=engine_settings())
        self.one = ssh

    async def ssh(self, target: Target) -> SshTarget:
        return self.one


async def test_adopt_over_ssh_then_redeploy(docker_engine: DockerEngine,  # noqa: F811
                                            sshd_server: SshServer,  # noqa: F811
                                            tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    key_type, key_b64 = sshd_server.host_public_key.split()[:2]
    known.write_text(f"[{sshd_server.host}]:{sshd_server.port} {key_type} {key_b64}\n")
    ssh = SshTarget(SshEndpoint(sshd_server.host, sshd_server.port, sshd_server.user,
                                TargetAuth.KEY, key_file=str(sshd_server.client_key)),
                    KnownHosts(known))
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    pool = OnePool(ssh, known)
    g = None
    try:
        g = await build_graph(backend, tmp_path, {"compose_flavour": "v1"})
        g.core.settings.projects_root = lambda target: None
        target = await g.add_target("remote", ssh, TargetKind.SSH, sshd_server.host)
        folder = "byhand-sshx"
        made = await ssh.run(
            f"mkdir -p ~/{folder} && cd ~/{folder} && cat > compose.yaml && "
            f"printf 'DB_PASSWORD=over-ssh\\n' > .env && "
            f"docker-compose -p sshx -f compose.yaml up -d", stdin=APP.encode(), timeout=120)
        assert made.ok, made.stderr
        home = (await ssh.run("printf %s \"$HOME\"")).stdout.strip()
        adopt = AdoptService(ServiceContext(g.backend, g.bus), pool, g.secrets)

        found = (await adopt.discover(g.admin, target.id)).project("sshx")
        assert found is not None and found.working_dir == f"{home}/{folder}"
        adopted = await adopt.adopt(g.admin, target.id, "sshx", "Over SSH")
        revision = await g.stacks.get_revision(g.admin, adopted.stack_id)
        assert revision.compose_yaml == APP

        [again] = await (await g.deployments.redeploy(g.admin, adopted.deployment_id)).wait()
        again = await g.settled(again)
        assert again.status is DeploymentStatus.SUCCEEDED, again.error
        assert again.project_name == "sshx"
        env = docker_engine.cli("inspect", "-f", "{{json .Config.Env}}", *docker_engine.cli(
            "ps", "-q", "--filter", "label=com.docker.compose.project=sshx",
            "--filter", "label=com.docker.compose.service=web").split())
        assert "DB_PASSWORD=over-ssh" in env
    finally:
        if g is not None:
            await g.deployments.shutdown()
        remove(docker_engine, "sshx")
        await ssh.run(f"rm -rf {shlex.quote('byhand-sshx')}")
        await pool.close()
        await ssh.close()
        await backend.close()

"""The pipeline on an SSH target (asyncssh executor, Compose v1 forced to cover it):
deploy, the httpd answers through the target, a broken revision is rolled back, remove."""

from __future__ import annotations

from pathlib import Path

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.env.services import free_port
from tests.env.sshd import SshServer, sshd_server  # noqa: F401 - fixture
from tests.support.databases import sqlite_url
from tests.support.deploy import BROKEN, STACK, VARIABLES, build_graph, http_get
from windflow_desktop.domain.enums import DeploymentStatus, TargetAuth, TargetKind
from windflow_desktop.engine.ssh import KnownHosts, SshEndpoint, SshTarget
from windflow_desktop.repositories.sql.backend import SqlBackend


async def test_ssh_target_with_compose_v1(docker_engine: DockerEngine,  # noqa: F811
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
    try:
        # projects under the SSH user's home (the default root)
        g = await build_graph(backend, tmp_path, {"compose_flavour": "v1"})
        g.core.settings.projects_root = lambda target: None
        target = await g.add_target("remote", ssh, TargetKind.SSH, sshd_server.host)
        stack, _ = await g.stacks.create_stack(g.admin, name="Web", compose_yaml=STACK,
                                               variables=VARIABLES)
        port = free_port()
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [target.id],
            variables={"GREETING": "over ssh", "WEB_PORT": str(port)})).wait()
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        assert http_get(port) == "over ssh"
        logs = "\n".join(x.line for x in await g.deployments.logs(g.admin, dep.id))
        assert "Compose v1 (forced" in logs and "_worker_1 ... done" in logs  # v1 naming
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=BROKEN,
                                     variables=VARIABLES)
        [bad] = await (await g.deployments.redeploy(g.admin, dep.id, revision=0,
                                                    variables={"GREETING": "v2"})).wait()
        bad = await g.settled(bad)
        assert bad.status is DeploymentStatus.ROLLED_BACK, bad.error
        assert http_get(port) == "over ssh"
        removed = await g.deployments.remove(g.admin, dep.id, volumes=True)
        assert removed.status is DeploymentStatus.REMOVED
        assert docker_engine.cli("ps", "-aq", "--filter",
                                 f"label=com.docker.compose.project={dep.project_name}") == ""
        assert docker_engine.cli("volume", "ls", "-q", "--filter",
                                 f"label=com.docker.compose.project={dep.project_name}") == ""
    finally:
        await g.deployments.shutdown()
        await ssh.close()
        await backend.close()

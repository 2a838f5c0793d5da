"""SSH targets against the real test sshd: agent forwarding stays off whatever
``~/.ssh/config`` says and only HostName/Port/User are taken from it; commands reach
``sh`` unchanged under a login shell that is not POSIX (tcsh); a deployment there takes
no value from the login environment; and a ``~/.windflow`` that others may write to (or
that is not the user's) is refused before anything is staged."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncssh
import pytest

from tests.env.docker import DockerEngine
from tests.env.services import missing
from tests.env.sshd import SshServer
from tests.support.databases import sqlite_url
from tests.support.deploy import DeployGraph, build_graph, container_env
from windflow_desktop.domain.enums import DeploymentStatus, TargetAuth, TargetKind
from windflow_desktop.engine.ssh import KnownHosts, SshEndpoint, SshSettings, SshTarget
from windflow_desktop.repositories.sql.backend import SqlBackend

STACK = """\
services:
  app:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    environment:
      WF_LOGIN_SECRET: "${WF_LOGIN_SECRET}"
      GREETING: "${GREETING}"
    stop_signal: SIGKILL
"""
VARIABLES = [{"name": "WF_LOGIN_SECRET"}, {"name": "GREETING"}]


def settings(config: Path | None = None) -> SshSettings:
    return SshSettings(connect_timeout_s=2.0, command_timeout_s=60,
                       config_paths=[str(config)] if config else [])


async def trust(tmp_path: Path, sshd: SshServer, host: str, port: int | None) -> KnownHosts:
    known = KnownHosts(tmp_path / "known_hosts")
    await known.add(host, port, asyncssh.import_public_key(sshd.host_public_key))
    return known


@pytest.fixture
def agent(sshd_server: SshServer, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real ssh-agent holding the test client key; ``SSH_AUTH_SOCK`` points at it."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("ssh-agent did not start")
            time.sleep(0.02)
        subprocess.run(["ssh-add", "-q", str(sshd_server.client_key)], check=True,
                       env={**os.environ, "SSH_AUTH_SOCK": str(sock)},
                       capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield str(sock)
    finally:
        proc.terminate()
        proc.wait(10)


async def test_agent_forwarding_stays_off_whatever_the_config_says(
        sshd_server: SshServer, agent: str, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n    ForwardAgent yes\n")
    known = await trust(tmp_path, sshd_server, sshd_server.host, sshd_server.port)
    ssh = SshTarget(SshEndpoint(sshd_server.host, sshd_server.port, sshd_server.user,
                                TargetAuth.AGENT), known, settings=settings(config))
    try:
        done = await ssh.run('printf %s "${SSH_AUTH_SOCK:-no agent here}"')
        assert done.stdout == "no agent here"
    finally:
        await ssh.close()


async def test_only_host_port_and_user_are_taken_from_the_config(
        sshd_server: SshServer, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host wf-alias\n    HostName {sshd_server.host}\n    Port {sshd_server.port}\n"
        f"    User {sshd_server.user}\n"
        "Host *\n    ProxyCommand /bin/false\n    RemoteCommand echo hijacked\n"
        "    ForwardX11Trusted yes\n    UserKnownHostsFile /dev/null\n")
    known = await trust(tmp_path, sshd_server, "wf-alias", None)
    ssh = SshTarget(SshEndpoint("wf-alias", None, "", TargetAuth.KEY,
                                key_file=str(sshd_server.client_key)),
                    known, settings=settings(config))
    try:
        done = await ssh.run("id -un")
        assert done.stdout == sshd_server.user
    finally:
        await ssh.close()


def _csh(sshd: SshServer) -> str:
    if not sshd.csh_shell:
        missing("tcsh is not installed (Debian package tcsh): no non-POSIX login shell")
    return sshd.csh_user


@pytest.fixture
async def csh_ssh(sshd_server: SshServer, tmp_path: Path) -> AsyncIterator[SshTarget]:
    user = _csh(sshd_server)
    known = await trust(tmp_path, sshd_server, sshd_server.host, sshd_server.port)
    ssh = SshTarget(SshEndpoint(sshd_server.host, sshd_server.port, user, TargetAuth.KEY,
                                key_file=str(sshd_server.client_key)),
                    known, settings=settings())
    yield ssh
    await ssh.close()


async def test_commands_reach_sh_unchanged_under_a_tcsh_login(csh_ssh: SshTarget) -> None:
    script = ("x=\"${NOT_SET:-fallback}\"\n"
              "printf '%s|%s\\n' \"$x\" 'it'\"'\"'s \"quoted\" \\\\ $HOME !bang'\n"
              "for i in 1 2; do echo \"line $i\"; done; cat; exit 7")
    done = await csh_ssh.run(script, env={"WHO": "a b'c"}, stdin="from stdin\n")
    assert done.exit_code == 7, done.stderr
    assert done.stdout.splitlines() == [
        "fallback|it's \"quoted\" \\\\ $HOME !bang", "line 1", "line 2", "from stdin"]
    assert (await csh_ssh.run('printf %s "$WHO"', env={"WHO": "a b'c $x"})).stdout \
        == "a b'c $x"
    # The account's login shell really is tcsh.
    shell = await csh_ssh.run("getent passwd \"$(id -un)\" | cut -d: -f7")
    assert shell.stdout.endswith("tcsh")


@pytest.fixture
async def csh_graph(csh_ssh: SshTarget, tmp_path: Path,
                    sshd_server: SshServer) -> AsyncIterator[tuple[DeployGraph, object]]:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    g = await build_graph(backend, tmp_path)
    g.core.settings.projects_root = lambda target: None  # the user's ~/.windflow
    try:
        target = await g.add_target("csh", csh_ssh, TargetKind.SSH, sshd_server.host)
        yield g, target
    finally:
        await g.deployments.shutdown()
        await backend.close()


async def test_a_deployment_under_tcsh_takes_nothing_from_the_login_environment(
        csh_graph: tuple[DeployGraph, object], docker_engine: DockerEngine,
        sshd_server: SshServer) -> None:
    g, target = csh_graph
    probe = await g.executors.by_target[target.id].run(  # type: ignore[attr-defined]
        'printf %s "$WF_LOGIN_SECRET"')
    assert probe.stdout == sshd_server.login_secret  # it is there, in the login's env
    stack, _ = await g.stacks.create_stack(g.admin, name="Login", compose_yaml=STACK,
                                           variables=VARIABLES)
    [dep] = await (await g.deployments.deploy(
        g.admin, stack.id, [target.id], variables={"GREETING": "tcsh $HOME !bang `id`"}
    )).wait()  # type: ignore[attr-defined]
    assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
    env = container_env(docker_engine, dep.project_name)
    assert env["WF_LOGIN_SECRET"] == ""
    assert env["GREETING"] == "tcsh $HOME !bang `id`"
    removed = await g.deployments.remove(g.admin, dep.id, volumes=True)
    assert removed.status is DeploymentStatus.REMOVED


@pytest.mark.parametrize("how", ["group-writable", "world-writable", "not the user's"])
async def test_a_windflow_folder_others_may_change_is_refused(
        csh_graph: tuple[DeployGraph, object], docker_engine: DockerEngine,
        sshd_server: SshServer, how: str) -> None:
    g, target = csh_graph
    account = pwd.getpwnam(sshd_server.csh_user)
    folder = Path(account.pw_dir) / ".windflow"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chown(folder, account.pw_uid, account.pw_gid)
    projects = folder / "projects"
    before = sorted(p.name for p in projects.iterdir()) if projects.is_dir() else []
    try:
        if how == "group-writable":
            folder.chmod(0o770)
        elif how == "world-writable":
            folder.chmod(0o703)
        else:
            os.chown(folder, 0, 0)
            folder.chmod(0o755)
        stack, _ = await g.stacks.create_stack(g.admin, name=f"Unsafe {how}",
                                               compose_yaml=STACK, variables=VARIABLES)
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [target.id])).wait()  # type: ignore[attr-defined]
        assert dep.status is DeploymentStatus.FAILED
        assert f"the folder {folder} must belong to {sshd_server.csh_user}" in (dep.error or "")
        after = sorted(p.name for p in projects.iterdir()) if projects.is_dir() else []
        assert after == before  # nothing staged
        assert docker_engine.cli("ps", "-aq", "--filter",
                                 f"label=com.docker.compose.project={dep.project_name}") == ""
    finally:
        os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(0o700)
        for leftover in set(p.name for p in projects.iterdir()) - set(before) \
                if projects.is_dir() else ():
            shutil.rmtree(projects / leftover, ignore_errors=True)

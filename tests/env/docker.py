"""A real Docker engine for tests and benchmarks: one ``dockerd`` per session on a unix
socket in a temporary folder, with a busybox image imported as ``localhost/busybox:latest``.

``start_docker()`` / ``DockerEngine.stop()`` are plain functions so the benchmarks can use
them too; the pytest plugin wraps them in the session fixture ``docker_engine``.

The folder lives outside pytest's root-only temp tree (``/tmp/wf-docker-*``, mode 0755) so
the SSH test user (in the ``docker`` group) can reach the socket. No registry is
reachable: the image is built from Debian's busybox-static (TESTENV.md). The engine runs
without its default ``docker0`` bridge and iptables rules, so it cannot clash with
another engine on this machine; containers use user-defined networks or none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .services import find_binary, free_port, missing, require_binary

BUSYBOX_IMAGE = "localhost/busybox:latest"
_APPLETS = ("sh", "echo", "cat", "httpd", "sleep", "wget", "ls", "env", "date", "seq")


@dataclass(frozen=True)
class TlsFiles:
    """A CA, the engine's certificate (for 127.0.0.1 and localhost), a client
    certificate, and a second CA that signed nothing of these (the "wrong CA")."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    wrong_ca: Path


@dataclass
class DockerEngine:
    """A running dockerd; ``host`` is its ``DOCKER_HOST`` URL; it also listens with TLS
    (client certificates required) on ``127.0.0.1:tls_port``."""

    base_dir: Path
    proc: subprocess.Popen[bytes]
    docker_cli: str
    tls: TlsFiles
    tls_port: int

    @property
    def socket(self) -> Path:
        return self.base_dir / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> str:
        """Run the docker CLI against this engine and return its stdout."""
        done = subprocess.run(
            [self.docker_cli, "-H", self.host, *args],
            capture_output=True, text=True, timeout=timeout,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def server_version(self) -> str:
        return self.cli("version", "--format", "{{.Server.Version}}").strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Bridges outlive the engine in the kernel (its data folder goes below), and
            # leaked ones use up the address pools of every later engine on this machine.
            ids = self.cli("ps", "-aq", check=False, timeout=20).split()
            if ids:
                self.cli("rm", "-f", *ids, check=False, timeout=60)
            self.cli("network", "prune", "-f", check=False, timeout=30)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Containers' mounts are gone with the engine; the folder can go too.
        subprocess.run(["umount", "-R", str(self.base_dir / "data")], capture_output=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_docker(timeout: float = 30.0) -> DockerEngine:
    """Start dockerd and import the busybox image (about 1-2 s)."""
    dockerd = require_binary("dockerd", package="docker.io")
    busybox = require_binary("busybox", package="busybox-static")
    # Debian's CLI talks to the 20.10 engine as well as the newer one.
    cli = find_binary("docker") or "/usr/bin/docker"
    if os.geteuid() != 0:
        missing("dockerd needs root here (rootless Docker is not set up)")
    base = Path(tempfile.mkdtemp(prefix="wf-docker-"))
    base.chmod(0o755)
    tls = make_tls(base / "tls")
    tls_port = free_port()
    with open(base / "dockerd.log", "wb") as log:  # the child keeps its own handle
        proc = subprocess.Popen(
            [
                dockerd, "-H", f"unix://{base / 'docker.sock'}",
                "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
                "--pidfile", str(base / "dockerd.pid"),
                "--bridge", "none", "--iptables=false", "--ip-masq=false",
                # 256 small networks instead of the 31 large default ones
                "--default-address-pool", "base=10.213.0.0/16,size=24",
                "--group", "docker",
                "-H", f"tcp://127.0.0.1:{tls_port}", "--tlsverify", "--tlscacert", str(tls.ca),
                "--tlscert", str(tls.server_cert), "--tlskey", str(tls.server_key),
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    engine = DockerEngine(base, proc, cli, tls, tls_port)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            text = (base / "dockerd.log").read_text(errors="replace")[-2000:]
            engine.stop()
            raise RuntimeError(f"dockerd exited: {text}")
        if engine.socket.exists():
            done = subprocess.run([cli, "-H", engine.host, "version"], capture_output=True)
            if done.returncode == 0:
                break
        if time.monotonic() > deadline:
            engine.stop()
            raise RuntimeError("dockerd did not answer in time")
        time.sleep(0.05)
    try:
        _import_busybox(engine, busybox)
    except BaseException:
        engine.stop()
        raise
    return engine


def make_tls(folder: Path) -> TlsFiles:
    """Certificates made with openssl (EC P-256, one day)."""
    folder.mkdir(parents=True)

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    for ca in ("ca", "wrong-ca"):
        ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", "-days", "1",
            "-subj", f"/CN=WindFlow test {ca}")
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1",
            "-extfile", f"{name}.ext")
    return TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem",
                    folder / "client.pem", folder / "client-key.pem", folder / "wrong-ca.pem")


def _import_busybox(engine: DockerEngine, busybox: str) -> None:
    root = engine.base_dir / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    for applet in _APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    tar = engine.base_dir / "busybox.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    engine.cli("import", "--change", 'CMD ["/bin/sh"]', str(tar), BUSYBOX_IMAGE)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    engine = start_docker()
    try:
        yield engine
    finally:
        engine.stop()

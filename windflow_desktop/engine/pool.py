"""``ExecutorPool``: the way to reach a target — its executor and its Docker engine.

One pooled SSH connection per target (``SshTarget``), created on first use and replaced
when the target's connection settings change; local and ``docker_tcp`` targets run
commands with a ``LocalExecutor`` whose ``DOCKER_HOST`` points at their engine (for TLS,
``DOCKER_CERT_PATH`` is a private copy of exactly the CA, certificate and key the target
names — never the folder they happen to sit in, whose ``ca.pem`` may be another one).
A local target's socket is ``unix://``, ``npipe://`` or a path; an engine over TCP is a
``docker_tcp`` target, where plain TCP is an explicit choice.
``docker(target)`` opens a ``DockerApi`` on the right URL: the local socket (Docker or
Podman, detected), TCP+TLS, or the SSH-forwarded remote socket.

Where the settings of a target live (``Target.tls``, a JSON column):
- ssh: ``{"ssh_key_file": "~/.ssh/id_ed25519"}`` for key auth;
- docker_tcp: ``{"ca_file": …, "cert_file": …, "key_file": …, "insecure": false}``.
Passwords and passphrases are never there: ``secret_lookup(target.secret_ref)`` reads
them from the keyring when a connection is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from ..domain.enums import TargetAuth, TargetKind
from ..domain.errors import ValidationError
from ..domain.models import Target
from .docker_api import DockerApi, as_url, local_docker_candidates, tls_context
from .errors import DockerUnavailableError, TargetAuthError
from .executor import Executor, LocalExecutor
from .ssh import HostKeyConfirm, KnownHosts, SshEndpoint, SshSettings, SshTarget

log = logging.getLogger("windflow.engine")

SecretLookup = Callable[[str], Awaitable[str | None]]
DEFAULT_TLS_PORT = 2376
DEFAULT_PLAIN_PORT = 2375


@dataclass(frozen=True)
class EngineSettings:
    ssh: SshSettings = field(default_factory=SshSettings)
    docker_request_timeout_s: float = 15.0
    docker_connect_timeout_s: float = 10.0
    environ: Mapping[str, str] | None = None  # None: os.environ (local engine detection)

    @property
    def connect_timeout_s(self) -> float:
        return self.ssh.connect_timeout_s


_UNSET: str | None = "\0unset"


class ExecutorPool:
    """Executors and Docker engines of targets, with one SSH connection per target."""

    def __init__(
        self,
        known_hosts: KnownHosts,
        secret_lookup: SecretLookup,
        *,
        settings: EngineSettings | None = None,
        confirm_host_key: HostKeyConfirm | None = None,
    ) -> None:
        self.known_hosts = known_hosts
        self.secret_lookup = secret_lookup
        self.settings = settings or EngineSettings()
        self.confirm_host_key = confirm_host_key
        self._ssh: dict[uuid.UUID, tuple[tuple[object, ...], SshTarget]] = {}
        self._lock = asyncio.Lock()  # the table of connections (held only briefly)
        self._target_locks: dict[uuid.UUID, asyncio.Lock] = {}  # opening one target's
        self._closed = False

    async def _confirm(self, prompt: object) -> bool:
        callback = self.confirm_host_key
        return bool(callback is not None and await callback(prompt))  # type: ignore[arg-type]

    # -- executors ------------------------------------------------------------------------

    async def executor(self, target: Target) -> Executor:
        if target.kind is TargetKind.SSH:
            return await self.ssh(target)
        return self.local_executor(target)

    def local_executor(self, target: Target, label: str | None = None) -> LocalExecutor:
        """Commands on this machine aimed at a local or ``docker_tcp`` target's engine."""
        return LocalExecutor(label or target.name, env=self.local_env(target),
                             files=tls_files(target))

    async def ssh(self, target: Target) -> SshTarget:
        """The pooled connection of an SSH target (not opened until first used)."""
        if target.kind is not TargetKind.SSH:
            raise ValidationError(f"{target.name} is not an SSH target", field="kind")
        signature = _ssh_signature(target)
        entry = self._ssh.get(target.id)
        if entry is not None and entry[0] == signature:
            return entry[1]
        # The keyring lookup and the close of a replaced connection can be slow: they
        # happen under this target's own lock, never the pool's, so other targets wait
        # for nothing.
        async with self._target_lock(target.id):
            entry = self._ssh.get(target.id)
            if entry is not None and entry[0] == signature:
                return entry[1]
            ssh = SshTarget(
                await self.endpoint(target), self.known_hosts,
                settings=self.settings.ssh, confirm=self._confirm,
            )
            async with self._lock:
                previous = self._ssh.get(target.id)
                self._ssh[target.id] = (signature, ssh)
            if previous is not None:
                await previous[1].close()
            return ssh

    def _target_lock(self, target_id: uuid.UUID) -> asyncio.Lock:
        lock = self._target_locks.get(target_id)
        if lock is None:
            lock = self._target_locks[target_id] = asyncio.Lock()
        return lock

    async def ephemeral_ssh(self, target: Target, secret: str | None = _UNSET) -> SshTarget:
        """A connection outside the pool (testing a draft before it is saved); the
        caller closes it."""
        return SshTarget(await self.endpoint(target, secret), self.known_hosts,
                         settings=self.settings.ssh, confirm=self._confirm)

    async def endpoint(self, target: Target, secret: str | None = _UNSET) -> SshEndpoint:
        if secret is _UNSET:
            secret = None
            if target.secret_ref and target.auth in (TargetAuth.PASSWORD, TargetAuth.KEY):
                secret = await self.secret_lookup(target.secret_ref)
        if target.auth is TargetAuth.PASSWORD and not secret:
            raise TargetAuthError(
                f"no password is stored for {target.name}: edit the target and enter it"
            )
        return SshEndpoint(
            host=target.host, port=target.port, username=target.username, auth=target.auth,
            key_file=str(target.tls.get("ssh_key_file") or "") or None, secret=secret,
        )

    async def forget(self, target_id: uuid.UUID) -> None:
        """Close a target's connection (it was edited or deleted)."""
        async with self._target_lock(target_id), self._lock:
            entry = self._ssh.pop(target_id, None)
        if entry is not None:
            await entry[1].close()

    async def close(self) -> None:
        """Close every connection; idempotent."""
        self._closed = True
        async with self._lock:
            entries, self._ssh = list(self._ssh.values()), {}
        await asyncio.gather(*(e[1].close() for e in entries), return_exceptions=True)

    # -- Docker ---------------------------------------------------------------------------

    def local_env(self, target: Target) -> dict[str, str]:
        """``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY``) for local commands aimed at the
        target; ``DOCKER_CERT_PATH`` comes with each command (``tls_files``)."""
        url = self.local_docker_url(target) if target.kind is TargetKind.LOCAL else (
            docker_tcp_url(target).replace("https://", "tcp://").replace("http://", "tcp://")
        )
        env = {"DOCKER_HOST": url}
        if tls_files(target):
            env["DOCKER_TLS_VERIFY"] = "1"
        return env

    def local_docker_url(self, target: Target) -> str:
        if target.docker_socket:
            return local_socket_url(target.docker_socket)
        environ = dict(self.settings.environ if self.settings.environ is not None
                       else os.environ)
        found = local_docker_candidates(environ)
        if not found:
            raise DockerUnavailableError(
                "no Docker or Podman engine was found on this computer (no DOCKER_HOST, "
                "no /var/run/docker.sock, no Podman socket): install and start Docker, or "
                "enter the engine's socket"
            )
        return found[0]

    @contextlib.asynccontextmanager
    async def docker(self, target: Target, *, ssh: SshTarget | None = None
                     ) -> AsyncIterator[DockerApi]:
        """A ``DockerApi`` for the target's engine, closed when the block ends."""
        ssl_context = None
        if target.kind is TargetKind.SSH:
            conn = ssh or await self.ssh(target)
            url = await conn.docker_url(target.docker_socket)
            remote = await conn.remote_docker_socket(target.docker_socket)
            label = f"{target.name} ({remote} over SSH)"
        elif target.kind is TargetKind.DOCKER_TCP:
            url = docker_tcp_url(target)
            if not target.tls.get("insecure"):
                ssl_context = await asyncio.to_thread(
                    tls_context, _opt(target, "ca_file"), _opt(target, "cert_file"),
                    _opt(target, "key_file"),
                )
            label = f"{target.name} ({target.host}:{target.port or DEFAULT_TLS_PORT})"
        else:
            url = self.local_docker_url(target)
            label = f"{target.name} ({url})"
        api = DockerApi(
            url, ssl_context=ssl_context, label=label,
            request_timeout_s=self.settings.docker_request_timeout_s,
            connect_timeout_s=self.settings.docker_connect_timeout_s,
        )
        try:
            yield api
        finally:
            await api.close()


def docker_tcp_url(target: Target) -> str:
    insecure = bool(target.tls.get("insecure"))
    port = target.port or (DEFAULT_PLAIN_PORT if insecure else DEFAULT_TLS_PORT)
    return f"{'http' if insecure else 'https'}://{target.host}:{port}"


LOCAL_SCHEMES = ("unix://", "npipe://")


def local_socket_url(socket: str) -> str:
    """The URL of a local engine's socket: ``unix://…``, ``npipe://…`` or a path; any
    other scheme (``tcp://`` above all: a plain, unauthenticated remote engine) is a
    ``ValidationError`` pointing to the ``docker_tcp`` kind."""
    text = socket.strip()
    if "://" not in text:
        if not text:
            raise ValidationError("enter the engine's socket path", field="docker_socket")
        return as_url(text)
    if text.lower().startswith(LOCAL_SCHEMES) and len(text) > text.index("://") + 3:
        return text
    raise ValidationError(
        f"{text!r} is not a local socket: a local target takes unix://…, npipe://… or a "
        "path; for an engine over TCP add a \"Docker over TCP\" (docker_tcp) target, "
        "with TLS", field="docker_socket")


def tls_files(target: Target) -> dict[str, str]:
    """The TLS files Docker gets for a ``docker_tcp`` target, by the names Docker reads
    from ``DOCKER_CERT_PATH`` (empty when the target does not use TLS)."""
    if target.kind is not TargetKind.DOCKER_TCP or target.tls.get("insecure"):
        return {}
    files = {"ca.pem": _opt(target, "ca_file"), "cert.pem": _opt(target, "cert_file"),
             "key.pem": _opt(target, "key_file")}
    if files["ca.pem"] is None:
        return {}
    return {name: path for name, path in files.items() if path}


def _opt(target: Target, key: str) -> str | None:
    value = target.tls.get(key)
    return os.path.expanduser(str(value)) if value else None


def _ssh_signature(target: Target) -> tuple[object, ...]:
    return (target.host, target.port, target.username, target.auth, target.secret_ref,
            target.tls.get("ssh_key_file"), target.docker_socket)

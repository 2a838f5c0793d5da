"""SSH targets: one pooled asyncssh connection per target, verified host keys, commands,
file upload, and the remote Docker socket forwarded to a local one.

Host keys: ``KnownHosts`` is the app's own known-hosts file (OpenSSH format) in the data
folder. A host that is not in it is *trust on first use*: the connection is refused,
the offered key's fingerprint goes to the ``confirm`` callback (the UI asks the user),
and only after a yes is the key stored and the connection made again — verified against
the stored key. A host whose key differs from the stored one is refused with
``HostKeyChangedError``. Verification is never turned off.

What is taken from ``~/.ssh/config`` (``SshSettings.config_paths``): only ``HostName``,
``Port`` and ``User`` (``HONOURED_CONFIG``), so host aliases work. Agent forwarding is
always off, and nothing else there (ForwardAgent, ProxyCommand, RemoteCommand, SetEnv,
known-hosts files, X11, …) steers a connection. A key file must be a regular file of at
most 64 KiB; it is opened without following a symbolic link, so a device, a FIFO or a
link is a clear error instead of a hang or an exhausted memory.

Commands run as ``sh -c`` whatever the account's login shell is (fish or csh do not
read POSIX quoting): the command line reaches the login shell as one single-quoted word
of plain characters (``posix_command``), which every common shell passes on unchanged.

Robustness: connecting has a timeout; keepalives notice a dead peer; a dropped connection
fails only the commands running on it (``ConnectionDroppedError``) and the next command
reconnects. Each target has its own connection, so one target's trouble never touches
another's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from ..domain.enums import TargetAuth
from ..domain.errors import TargetUnreachableError
from ..domain.models import HostKeyPrompt
from .errors import (
    CommandTimeoutError,
    ConnectionDroppedError,
    HostKeyChangedError,
    HostKeyRejectedError,
    TargetAuthError,
)
from .executor import (
    DEFAULT_COMMAND_TIMEOUT_S,
    CommandResult,
    LineCallback,
    LineCollector,
    as_shell,
    env_prefix,
)
from .ssh_setup import honoured_config, load_key_file, posix_command

log = logging.getLogger("windflow.engine.ssh")

# curve25519 first: sntrup761 (OpenSSH's default) costs ~75 ms of client CPU per handshake.
_PREFERRED_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org")


def kex_preference() -> list[str]:
    """asyncssh's default key exchanges with curve25519 moved to the front."""
    from asyncssh.kex import get_default_kex_algs

    defaults = [alg.decode("ascii") for alg in get_default_kex_algs()]
    first = [alg for alg in _PREFERRED_KEX if alg in defaults]
    return first + [alg for alg in defaults if alg not in first]


HostKeyConfirm = Callable[[HostKeyPrompt], Awaitable[bool]]


@dataclass(frozen=True)
class SshSettings:
    connect_timeout_s: float = 10.0
    command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S
    keepalive_interval_s: float = 15.0
    keepalive_count_max: int = 3
    max_sessions: int = 8  # channels at once on one connection (sshd's MaxSessions is 10)
    # OpenSSH config files for HONOURED_CONFIG only; None: the user's ~/.ssh/config
    config_paths: Sequence[str] | None = None


@dataclass(frozen=True)
class SshEndpoint:
    """Where and how to log in; ``secret`` is the password or key passphrase (never shown)."""

    host: str
    port: int | None
    username: str
    auth: TargetAuth
    key_file: str | None = None
    secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        user = f"{self.username}@" if self.username else ""
        port = f":{self.port}" if self.port and self.port != 22 else ""
        return f"{user}{self.host}{port}"


class KnownHosts:
    """The app's known-hosts file: ``[host]:port type base64`` lines (OpenSSH format)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, list[str]] | None = None
        self._lock = asyncio.Lock()
        self._host_locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def host_id(host: str, port: int | None) -> str:
        return host if not port or port == 22 else f"[{host}]:{port}"

    def host_lock(self, host: str, port: int | None) -> asyncio.Lock:
        """Serializes trust-on-first-use questions for one host."""
        return self._host_locks.setdefault(self.host_id(host, port), asyncio.Lock())

    async def load(self) -> None:
        async with self._lock:
            if self._entries is None:
                self._entries = await asyncio.to_thread(self._read)

    def _read(self) -> dict[str, list[str]]:
        entries: dict[str, list[str]] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return entries
        for line in text.splitlines():
            parts = line.strip().split()
            if len(parts) >= 3 and not parts[0].startswith("#"):
                for name in parts[0].split(","):
                    entries.setdefault(name, []).append(f"{parts[1]} {parts[2]}")
        return entries

    async def keys_for(self, host: str, port: int | None) -> list[asyncssh.SSHKey]:
        await self.load()
        assert self._entries is not None
        keys = []
        for text in self._entries.get(self.host_id(host, port), []):
            try:
                keys.append(asyncssh.import_public_key(text))
            except (asyncssh.KeyImportError, ValueError):
                log.warning("unreadable key for %s in %s", host, self.path)
        return keys

    async def add(self, host: str, port: int | None, key: asyncssh.SSHKey) -> None:
        await self.load()
        assert self._entries is not None
        line = key.export_public_key("openssh").decode().strip().split()
        entry = f"{line[0]} {line[1]}"
        async with self._lock:
            self._entries.setdefault(self.host_id(host, port), []).append(entry)
            await asyncio.to_thread(self._write)

    async def remove(self, host: str, port: int | None) -> bool:
        """Forget a host's keys (after a legitimate key change); True if it was known."""
        await self.load()
        assert self._entries is not None
        async with self._lock:
            found = self._entries.pop(self.host_id(host, port), None) is not None
            if found:
                await asyncio.to_thread(self._write)
        return found

    def _write(self) -> None:
        assert self._entries is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{name} {key}" for name, keys in sorted(self._entries.items()) for key in keys]
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + ("\n" if lines else ""))
        os.chmod(tmp, 0o600)  # private even when an older copy was not
        os.replace(tmp, self.path)


class _Client(asyncssh.SSHClient):
    """Remembers the key a host offered when it was not trusted, and notices a drop."""

    def __init__(self) -> None:
        self.offered_key: asyncssh.SSHKey | None = None
        self.lost = asyncio.Event()

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.offered_key = key
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


def fingerprint(key: asyncssh.SSHKey) -> str:
    return str(key.get_fingerprint("sha256"))


class SshTarget:
    """The pooled connection to one SSH target; an ``Executor``."""

    def __init__(
        self,
        endpoint: SshEndpoint,
        known_hosts: KnownHosts,
        *,
        settings: SshSettings | None = None,
        confirm: HostKeyConfirm | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.label = endpoint.label
        self.known_hosts = known_hosts
        self.settings = settings or SshSettings()
        self.confirm = confirm
        self._conn: asyncssh.SSHClientConnection | None = None
        self._client: _Client | None = None
        self._connect_lock = asyncio.Lock()
        self._sessions = asyncio.Semaphore(self.settings.max_sessions)
        self._forward: Any = None
        self._forward_dir: str | None = None
        self._forward_path = ""
        self._last_offer: asyncssh.SSHKey | None = None
        self._remote_docker: str | None = None
        self._closed = False
        self.connects = 0  # how many times a connection was opened (tests, diagnostics)
        # Seconds spent waiting for the user's host-key answer (kept out of step timings).
        self.asked_s = 0.0

    # -- connection ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return (
            self._conn is not None
            and self._client is not None
            and not self._client.lost.is_set()
            and not self._conn.is_closed()
        )

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The live connection, opened (or reopened after a drop) when needed."""
        if self._closed:
            raise TargetUnreachableError(f"the connection to {self.label} is closed")
        if self.connected:
            assert self._conn is not None
            return self._conn
        async with self._connect_lock:
            if not self.connected:
                self._drop()
                self._conn, self._client = await self._connect_verified()
                self.connects += 1
            assert self._conn is not None
            return self._conn

    async def _connect_verified(self) -> tuple[asyncssh.SSHClientConnection, _Client]:
        ep = self.endpoint
        trusted = await self.known_hosts.keys_for(ep.host, ep.port)
        try:
            return await self._connect(trusted)
        except asyncssh.HostKeyNotVerifiable as exc:
            offered = self._last_offer
            if trusted:
                raise HostKeyChangedError(
                    f"the host key of {ep.label} has CHANGED and the connection was refused. "
                    "If the server was reinstalled, remove its old key from the known hosts "
                    "and connect again; otherwise someone may be intercepting the connection."
                ) from exc
            if offered is None:
                raise HostKeyRejectedError(f"{ep.label} offered no usable host key") from exc
            # One question per host, even when many connections to it start at once.
            async with self.known_hosts.host_lock(ep.host, ep.port):
                now_trusted = await self.known_hosts.keys_for(ep.host, ep.port)
                if now_trusted:  # another connection asked meanwhile and the user said yes
                    return await self._connect(now_trusted)
                prompt = HostKeyPrompt(ep.host, ep.port or 22, offered.get_algorithm(),
                                       fingerprint(offered))
                asked = time.perf_counter()
                try:
                    accepted = self.confirm is not None and await self.confirm(prompt)
                finally:
                    self.asked_s += time.perf_counter() - asked
                if not accepted:
                    raise HostKeyRejectedError(
                        f"the host key of {ep.label} ({prompt.fingerprint}) was not "
                        "accepted, so WindFlow did not connect. Compare the fingerprint with "
                        "the server's (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and accept "
                        "it to go on."
                    ) from exc
                await self.known_hosts.add(ep.host, ep.port, offered)
            log.info("trusted the host key of %s: %s", ep.label, prompt.fingerprint)
            return await self._connect([offered])

    async def _connect(
        self, trusted: list[asyncssh.SSHKey]
    ) -> tuple[asyncssh.SSHClientConnection, _Client]:
        ep, st = self.endpoint, self.settings
        client = _Client()
        self._last_offer = None
        try:
            host, port, username = await asyncio.to_thread(
                honoured_config, st.config_paths, ep.host, ep.port, ep.username)
        except (OSError, ValueError) as exc:
            raise TargetUnreachableError(f"the SSH config file could not be read: {exc}"
                                         ) from exc
        options: dict[str, Any] = {
            "username": username or None,
            "known_hosts": (trusted, [], []),
            "client_factory": lambda: client,
            "keepalive_interval": st.keepalive_interval_s,
            "keepalive_count_max": st.keepalive_count_max,
            "connect_timeout": st.connect_timeout_s,
            "login_timeout": st.connect_timeout_s,
            "kex_algs": kex_preference(),
            # The config file was read above for the options we honour, and only those.
            "config": None,
            "agent_forwarding": False,
            "x11_forwarding": False,
            "proxy_command": None,
            "tunnel": None,
        }
        if port:
            options["port"] = port
        if ep.auth is TargetAuth.PASSWORD:
            options.update(password=ep.secret or "", client_keys=None, agent_path=None,
                           preferred_auth="password")
        elif ep.auth is TargetAuth.KEY:
            if not ep.key_file:
                raise TargetAuthError(f"{ep.label}: choose the private key file to log in with")
            key = await asyncio.to_thread(load_key_file, ep.key_file, ep.secret)
            options.update(client_keys=[key], agent_path=None, preferred_auth="publickey")
        try:
            async with asyncio.timeout(st.connect_timeout_s + 2):
                conn = await asyncssh.connect(host, **options)
        except asyncssh.HostKeyNotVerifiable:
            self._last_offer = client.offered_key
            raise
        except asyncssh.PermissionDenied as exc:
            raise TargetAuthError(_auth_hint(ep)) from exc
        except asyncssh.KeyImportError as exc:
            raise TargetAuthError(
                f"the key file {ep.key_file} could not be read: {exc}. If it has a "
                "passphrase, enter the right one."
            ) from exc
        except TimeoutError:
            raise TargetUnreachableError(
                f"{ep.label} did not answer within {st.connect_timeout_s:g} s: check that the "
                "host is up, the port is right and no firewall drops the connection"
            ) from None
        except socket.gaierror as exc:
            raise TargetUnreachableError(
                f"the host name {ep.host!r} could not be resolved ({exc.strerror}): check "
                "its spelling or your DNS"
            ) from exc
        except ConnectionRefusedError as exc:
            raise TargetUnreachableError(
                f"{ep.label} refused the connection: is sshd running on port "
                f"{ep.port or 22}?"
            ) from exc
        except (OSError, asyncssh.Error) as exc:
            raise TargetUnreachableError(f"could not connect to {ep.label}: {exc}") from exc
        return conn, client

    def _drop(self) -> None:
        if self._forward is not None:
            with contextlib.suppress(Exception):
                self._forward.close()
            self._forward = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
        self._client = None
        self._remote_docker = None

    async def close(self) -> None:
        """Close the connection and the forwarded socket; idempotent."""
        self._closed = True
        conn = self._conn
        self._drop()
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 2)
        if self._forward_dir is not None:
            shutil.rmtree(self._forward_dir, ignore_errors=True)
            self._forward_dir = None

    # -- commands --------------------------------------------------------------------

    async def run(
        self,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: bytes | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        on_line: LineCallback | None = None,
    ) -> CommandResult:
        started = time.perf_counter()
        limit = self.settings.command_timeout_s if timeout is None else timeout
        out, err = LineCollector("stdout", on_line), LineCollector("stderr", on_line)
        line = posix_command(env_prefix(env) + as_shell(command))
        async with self._sessions:
            process = await self._start(line)
            try:
                async with asyncio.timeout(limit):
                    await asyncio.gather(
                        _feed(process, stdin),
                        _pump(process.stdout, out),
                        _pump(process.stderr, err),
                    )
                    completed = await process.wait(check=False)
            except TimeoutError:
                _terminate(process)
                raise CommandTimeoutError(
                    f"the command did not finish within {limit:g} s on {self.label} "
                    "and was stopped"
                ) from None
            except (asyncssh.DisconnectError, asyncssh.ChannelOpenError, OSError) as exc:
                raise self._dropped("running a command", exc) from exc
            except BaseException:
                _terminate(process)
                raise
        out.finish()
        err.finish()
        code = completed.exit_status
        if code is None or (code == -1 and completed.exit_signal is None and not self.connected):
            raise self._dropped("running a command", None)
        return CommandResult(code, out.text(), err.text(), time.perf_counter() - started)

    async def _start(self, line: str) -> asyncssh.SSHClientProcess[bytes]:
        """Open a session for ``line``; a connection found dead at this point (nothing
        ran yet) is reopened once."""
        for attempt in (1, 2):
            conn = await self.connection()
            try:
                return await asyncio.wait_for(
                    conn.create_process(line, encoding=None, stdin=asyncssh.PIPE),
                    self.settings.connect_timeout_s,
                )
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError,
                    TimeoutError) as exc:
                dropped = self._dropped("starting a command", exc)
                if attempt == 2 or isinstance(exc, asyncssh.ChannelOpenError | TimeoutError):
                    raise dropped from exc
        raise AssertionError("unreachable")

    def _dropped(self, doing: str, exc: BaseException | None) -> ConnectionDroppedError:
        self._drop()
        why = f" ({exc})" if exc else ""
        return ConnectionDroppedError(
            f"the SSH connection to {self.label} dropped while {doing}{why}; the next "
            "action reconnects"
        )

    # -- Docker socket ----------------------------------------------------------------

    async def remote_docker_socket(self, configured: str | None = None) -> str:
        """The path of the target's Docker socket: the configured one, else the remote
        login's ``DOCKER_HOST`` (unix://…), else ``/var/run/docker.sock``."""
        if configured:
            return configured.removeprefix("unix://")
        if self._remote_docker is None:
            result = await self.run('printf %s "${DOCKER_HOST:-}"', timeout=15)
            value = result.stdout.strip()
            self._remote_docker = (
                value.removeprefix("unix://")
                if value.startswith("unix://")
                else "/var/run/docker.sock"
            )
        return self._remote_docker

    async def docker_url(self, configured: str | None = None) -> str:
        """A local ``unix://`` URL forwarded to the target's Docker socket over this
        connection (re-created after a reconnect)."""
        remote = await self.remote_docker_socket(configured)
        conn = await self.connection()
        async with self._connect_lock:
            if self._forward is None:
                if self._forward_dir is None:
                    self._forward_dir = tempfile.mkdtemp(prefix="wf-docker-fwd-")
                    os.chmod(self._forward_dir, 0o700)
                local = os.path.join(self._forward_dir, f"docker-{self.connects}.sock")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(local)
                try:
                    self._forward = await asyncio.wait_for(
                        conn.forward_local_path(local, remote), self.settings.connect_timeout_s
                    )
                except (asyncssh.Error, OSError, TimeoutError) as exc:
                    raise TargetUnreachableError(
                        f"could not forward the Docker socket of {self.label}: {exc}"
                    ) from exc
                self._forward_path = local
        return f"unix://{self._forward_path}"


async def _feed(process: asyncssh.SSHClientProcess[bytes], data: bytes | str | None) -> None:
    if data is not None:
        process.stdin.write(data.encode() if isinstance(data, str) else data)
    process.stdin.write_eof()


async def _pump(reader: asyncssh.SSHReader[bytes], sink: LineCollector) -> None:
    while chunk := await reader.read(65536):
        sink.feed(chunk)


def _terminate(process: asyncssh.SSHClientProcess[bytes]) -> None:
    # Closing the channel makes sshd hang up the command (SIGHUP to its session).
    with contextlib.suppress(Exception):
        process.close()


def _auth_hint(ep: SshEndpoint) -> str:
    who = f"{ep.username or 'your user'} on {ep.host}"
    if ep.auth is TargetAuth.PASSWORD:
        return f"{who} refused the password: check the user name and the password"
    if ep.auth is TargetAuth.KEY:
        return (
            f"{who} refused the key {ep.key_file}: check the user name and that the "
            "public key is in the user's ~/.ssh/authorized_keys"
        )
    return (
        f"{who} refused every key of your ssh-agent: load the right key "
        "(ssh-add) or choose a key file"
    )

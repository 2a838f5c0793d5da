"""Interactive shells in containers: an exec with a TTY, as one byte stream each way.

``TerminalSession`` (``domain/terminal.py``) is the one small interface the service and
the stores see:
``write(bytes)`` (keystrokes), ``resize(cols, rows)``, ``read()`` (the next chunk of
output, ``b""`` once the shell ended), ``exit_code`` and ``close()``. Two kinds:

- ``DockerExecSession`` (local and ``docker_tcp`` targets): the Docker Engine API's exec
  — create with ``Tty`` and ``AttachStdin``, start on a hijacked (upgraded) connection,
  ``POST /exec/{id}/resize`` for the size — through aiodocker.
- ``SshExecSession`` (SSH targets): ``docker exec -it <id> <shell>`` run over an SSH
  session with a PTY on the target's pooled connection; a resize is an SSH window change,
  which the remote ``docker`` passes on to the exec.

Backpressure: output is read only when asked (``read``), so a flood fills the transport's
buffer and the engine (or sshd) waits, instead of memory growing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import asyncssh

from ..domain.enums import TargetKind
from ..domain.errors import TargetUnreachableError
from ..domain.models import Target
from ..domain.terminal import TerminalSession
from .docker_api import DockerApi
from .lazy import lazy_import
from .pool import ExecutorPool
from .ssh import SshTarget
from .ssh_setup import posix_command

if TYPE_CHECKING:
    import aiohttp
    from aiodocker.execs import Exec
    from aiodocker.stream import Stream
else:  # loaded when a Docker engine is first contacted (lazy.py)
    aiohttp = lazy_import("aiohttp")

log = logging.getLogger("windflow.engine.terminal")

TERM = "xterm-256color"
READ_CHUNK = 65536
Closer = Callable[[], Awaitable[object]]


# The shell's wrapper prints its pid first as an OSC sequence (terminals ignore unknown
# ones; ``ShellPid`` takes it out of the stream): closing the window must end the shell,
# and neither the Engine API nor ``docker exec`` over SSH ends an exec whose client went
# away — it would live on in the container, with whatever it runs.
PID_MARK = b"\x1b]5379;wf-shell-pid="
_WRAPPER = 'printf "\\033]5379;wf-shell-pid=%s\\007" "$$"; exec "$0"'


def shell_command(shell: str) -> list[str]:
    """The command run in the container for a shell name (``sh``, ``bash`` …): the shell
    itself, after saying its pid (``PID_MARK``)."""
    return [shell, "-c", _WRAPPER, shell]


def hang_up_command(shell: str, pid: int) -> list[str]:
    """Ends the shell ``pid`` (its foreground job gets the hang-up from the kernel)."""
    return [shell, "-c", f"kill -HUP {int(pid)}"]


class ShellPid:
    """Takes the wrapper's pid mark out of the first bytes of a shell's output (over SSH a
    line ending or two may come first)."""

    LOOK_BYTES = 4096

    def __init__(self) -> None:
        self.pid: int | None = None
        self._held = b""
        self._seen = 0
        self._done = False

    def take(self, data: bytes) -> bytes:
        """``data`` without the mark (a tail that may be the mark's start is held back)."""
        if self._done:
            return data
        self._seen += len(data)
        head, self._held = self._held + data, b""
        start = head.find(PID_MARK)
        if start >= 0:
            end = head.find(b"\x07", start)
            if end >= 0:
                value = head[start + len(PID_MARK):end]
                self.pid = int(value) if value.isdigit() else None
                self._done = True
                return head[:start] + head[end + 1:]
            if self._seen < self.LOOK_BYTES:
                self._held = head[start:]
                return head[:start]
        elif self._seen < self.LOOK_BYTES:
            keep = next((n for n in range(min(len(head), len(PID_MARK) - 1), 0, -1)
                         if PID_MARK.startswith(head[-n:])), 0)
            if keep:
                self._held = head[-keep:]
                return head[:-keep]
            return head
        self._done = True
        return head


class DockerExecSession:
    """An exec with a TTY through the Engine API; ``api`` stays open until ``close``."""

    def __init__(self, api: DockerApi, exec_: Exec, stream: Stream,
                 on_close: Closer | None = None, *, container_id: str = "",
                 shell: str = "sh") -> None:
        self._api = api
        self._exec = exec_
        self._stream = stream
        self._on_close = on_close
        self._container_id = container_id
        self._shell = shell
        self._pid = ShellPid()
        self._ended = False
        self._closed = False
        self.exit_code: int | None = None

    @classmethod
    async def open(cls, api: DockerApi, container_id: str, shell: str, *, cols: int,
                   rows: int, on_close: Closer | None = None) -> DockerExecSession:
        docker = api._docker
        what = f"open a shell in {container_id[:12]}"

        async def start() -> tuple[Exec, Stream]:
            container = docker.containers.container(container_id)
            exec_ = await container.exec(shell_command(shell), stdin=True, tty=True,
                                         environment={"TERM": TERM})
            stream = exec_.start(detach=False, timeout=aiohttp.ClientTimeout(
                total=None, sock_read=None, connect=api.connect_timeout_s,
                sock_connect=api.connect_timeout_s))
            await stream._init()  # the upgrade happens here: its errors belong to opening
            return exec_, stream

        exec_, stream = await api._call(what, start)
        session = cls(api, exec_, stream, on_close, container_id=container_id, shell=shell)
        with contextlib.suppress(Exception):  # a shell that ended at once has no size
            await session.resize(cols, rows)
        return session

    async def read(self) -> bytes:
        while not self._ended:
            try:
                message = await self._stream.read_out()
            except (aiohttp.ClientError, OSError) as exc:
                log.info("the exec stream ended: %s", exc)
                message = None
            if message is None:
                self._ended = True
                await self._read_exit_code()
                break
            if data := self._pid.take(bytes(message.data)):
                return data
        return b""

    async def _read_exit_code(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._api.request_timeout_s):
                info = await self._exec.inspect()
                # Running is still true for a moment after the stream ended.
                for _ in range(20):
                    if not info.get("Running"):
                        break
                    await asyncio.sleep(0.05)
                    info = await self._exec.inspect()
                code = info.get("ExitCode")
                self.exit_code = int(code) if code is not None else None

    async def write(self, data: bytes) -> None:
        if self._ended or self._closed:
            return
        try:
            await self._stream.write_in(data)
        except (RuntimeError, aiohttp.ClientError, OSError, AssertionError) as exc:
            log.info("writing to the exec failed: %s", exc)

    async def resize(self, cols: int, rows: int) -> None:
        if self._ended or self._closed:
            return

        async def act() -> None:
            await self._exec.resize(h=rows, w=cols)

        await self._api._call("resize the terminal", act)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self._stream.close()
        if not self._ended and self._pid.pid is not None:
            await self._hang_up(self._pid.pid)
        if self._on_close is not None:
            await self._on_close()

    async def _hang_up(self, pid: int) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._api.request_timeout_s):
                container = self._api._docker.containers.container(self._container_id)
                killer = await container.exec(hang_up_command(self._shell, pid))
                await killer.start(detach=True)


class SshExecSession:
    """``docker exec -it`` over an SSH session with a PTY on a pooled connection."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes], hang_up: str = ""
                 ) -> None:
        self._process = process
        self._hang_up_line = hang_up  # ``{pid}`` filled in once the shell said it
        self._conn: asyncssh.SSHClientConnection | None = None
        self._pid = ShellPid()
        self._ended = False
        self._closed = False
        self.exit_code: int | None = None

    @classmethod
    async def open(cls, ssh: SshTarget, container_id: str, shell: str, *, cols: int,
                   rows: int, docker_socket: str | None = None) -> SshExecSession:
        remote = await ssh.remote_docker_socket(docker_socket)
        host = f"DOCKER_HOST={shlex.quote('unix://' + remote)}"
        line = (f"{host} exec docker exec -it -e TERM={TERM} {shlex.quote(container_id)} "
                f"{shlex.join(shell_command(shell))}")
        hang_up = (f"{host} exec docker exec {shlex.quote(container_id)} "
                   f"{shlex.join(hang_up_command(shell, 0))}").replace("-HUP 0", "-HUP {pid}")
        conn = await ssh.connection()
        try:
            process = await asyncio.wait_for(
                conn.create_process(posix_command(line), encoding=None, term_type=TERM,
                                    term_size=(cols, rows)),
                ssh.settings.connect_timeout_s)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise TargetUnreachableError(
                f"could not open a shell session on {ssh.label}: {exc}") from exc
        session = cls(process, hang_up)
        session._conn = conn
        return session

    async def read(self) -> bytes:
        while not self._ended:
            try:
                data = await self._process.stdout.read(READ_CHUNK)
            except (asyncssh.Error, OSError) as exc:
                log.info("the SSH shell session ended: %s", exc)
                data = b""
            if not data:
                self._ended = True
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await self._process.wait_closed()
                self.exit_code = self._process.exit_status
                break
            if out := self._pid.take(bytes(data)):
                return out
        return b""

    async def write(self, data: bytes) -> None:
        if self._ended or self._closed:
            return
        try:
            self._process.stdin.write(data)
            await self._process.stdin.drain()
        except (asyncssh.Error, OSError, BrokenPipeError) as exc:
            log.info("writing to the SSH shell failed: %s", exc)

    async def resize(self, cols: int, rows: int) -> None:
        if self._ended or self._closed:
            return
        with contextlib.suppress(asyncssh.Error, OSError):
            self._process.change_terminal_size(cols, rows)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._ended and self._pid.pid is not None and self._conn is not None:
            with contextlib.suppress(Exception):  # before the channel closes (see above)
                async with asyncio.timeout(10):
                    await self._conn.run(posix_command(
                        self._hang_up_line.format(pid=self._pid.pid)))
        with contextlib.suppress(Exception):
            self._process.close()


async def open_terminal(pool: ExecutorPool, target: Target, container_id: str, shell: str,
                        *, cols: int, rows: int) -> TerminalSession:
    """A shell in a container of ``target``, by the target's kind (see the module doc)."""
    if target.kind is TargetKind.SSH:
        return await SshExecSession.open(await pool.ssh(target), container_id, shell,
                                         cols=cols, rows=rows,
                                         docker_socket=target.docker_socket)
    stack = contextlib.AsyncExitStack()
    api = await stack.enter_async_context(pool.docker(target))
    try:
        return await DockerExecSession.open(api, container_id, shell, cols=cols, rows=rows,
                                            on_close=stack.aclose)
    except BaseException:
        await stack.aclose()
        raise

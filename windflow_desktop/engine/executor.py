"""The one interface for running commands on a target, and its local implementation.

``Executor.run`` runs a shell command with an environment, optional stdin, a timeout and
cancellation; it streams stdout/stderr lines to ``on_line`` as they come and returns the
exit code with the collected output (files reach a target through its shell: see
``ComposeProject.stage``). The SSH implementation is in ``engine/ssh.py``.

``LocalExecutor`` never hands the app's own environment (tokens, database URLs, …) to what
it runs: a command gets ``base_environ()`` (``PATH``, ``HOME``, ``DOCKER_CONFIG`` and what
the OS needs to start programs) plus the variables given for the target and the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .errors import CommandTimeoutError
from .files import private_copies
from .lines import LineSplitter

T = TypeVar("T")

LineCallback = Callable[[str, str], None]
"""Called with (stream, line): stream is ``"stdout"`` or ``"stderr"``; no newline."""

# What a local command keeps of the app's environment; everything else stays out.
BASE_ENV = ("PATH", "HOME", "DOCKER_CONFIG",
            # Windows needs these to start programs and find the user's folders.
            "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "USERPROFILE",
            "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES")
DEFAULT_COMMAND_TIMEOUT_S = 120.0
MAX_KEPT_LINES = 20_000  # per stream; streaming callers see every line anyway


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Executor(Protocol):
    """Runs commands on one target."""

    label: str

    async def run(self, command: str | Sequence[str], *, env: Mapping[str, str] | None = None,
                  stdin: bytes | str | None = None, timeout: float | None = None,  # noqa: ASYNC109
                  on_line: LineCallback | None = None) -> CommandResult: ...

    async def close(self) -> None: ...


def base_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of ``environ`` (default: this process's) a local command may see."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in BASE_ENV if name in source}


def as_shell(command: str | Sequence[str]) -> str:
    """A shell command line: strings are taken as is, sequences are quoted."""
    return command if isinstance(command, str) else shlex.join(command)


def env_prefix(env: Mapping[str, str] | None) -> str:
    """``export A='1' B='2'; `` — sshd accepts few client variables, so the remote shell
    sets them itself."""
    if not env:
        return ""
    parts = []
    for key, value in env.items():
        if not key.replace("_", "").isalnum() or key[:1].isdigit():
            raise ValueError(f"not an environment variable name: {key!r}")
        parts.append(f"{key}={shlex.quote(value)}")
    return "export " + " ".join(parts) + "; "


class LineCollector:
    """Splits a byte stream into lines (each cut at ``MAX_LINE_BYTES``), keeps them
    (bounded) and passes each on."""

    def __init__(self, stream: str, on_line: LineCallback | None) -> None:
        self.stream = stream
        self.on_line = on_line
        self.lines: list[str] = []
        self._splitter = LineSplitter()

    def feed(self, chunk: bytes) -> None:
        for line in self._splitter.feed(chunk):
            self._emit(line)

    def finish(self) -> None:
        last = self._splitter.finish()
        if last is not None:
            self._emit(last)

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) > MAX_KEPT_LINES:
            del self.lines[: len(self.lines) - MAX_KEPT_LINES]
        if self.on_line is not None:
            self.on_line(self.stream, line)

    def text(self) -> str:
        return "\n".join(self.lines)


class LocalExecutor:
    """Runs commands on this machine with ``/bin/sh -c`` in their own process group, so a
    timeout or a cancellation stops the whole command, children included.

    ``env`` is added to ``base_environ()``; ``files`` are copied, for each command, into a
    private temporary folder (0700, removed after) whose path goes into the variable
    ``files_env`` — how Docker gets exactly the TLS files a target names
    (``DOCKER_CERT_PATH`` with ``ca.pem``, ``cert.pem``, ``key.pem``)."""

    def __init__(self, label: str = "this computer", env: Mapping[str, str] | None = None,
                 *, files: Mapping[str, str] | None = None,
                 files_env: str = "DOCKER_CERT_PATH") -> None:
        self.label = label
        self._env = dict(env or {})
        self._files = dict(files or {})
        self._files_env = files_env

    async def run(
        self,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: bytes | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        on_line: LineCallback | None = None,
    ) -> CommandResult:
        if not self._files:
            return await self._run(command, env, stdin, timeout, on_line)
        folder = await _private_folder(self._files)
        try:
            return await self._run(command, {**(env or {}), self._files_env: folder},
                                   stdin, timeout, on_line)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _run(self, command: str | Sequence[str], env: Mapping[str, str] | None,
                   stdin: bytes | str | None, timeout: float | None,  # noqa: ASYNC109
                   on_line: LineCallback | None) -> CommandResult:
        started = time.perf_counter()
        limit = DEFAULT_COMMAND_TIMEOUT_S if timeout is None else timeout
        full_env = {**base_environ(), **self._env, **(env or {})}
        proc = await asyncio.create_subprocess_shell(
            as_shell(command),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=full_env,
            start_new_session=True,
        )
        out, err = LineCollector("stdout", on_line), LineCollector("stderr", on_line)
        try:
            async with asyncio.timeout(limit):
                await asyncio.gather(
                    _feed_stdin(proc.stdin, stdin),
                    _pump(proc.stdout, out),
                    _pump(proc.stderr, err),
                )
                code = await proc.wait()
        except TimeoutError:
            await _stop(proc)
            raise CommandTimeoutError(
                f"the command did not finish within {limit:g} s on {self.label} and was stopped"
            ) from None
        except BaseException:
            await _stop(proc)
            raise
        out.finish()
        err.finish()
        return CommandResult(code, out.text(), err.text(), time.perf_counter() - started)

    async def close(self) -> None:
        return None


async def _private_folder(files: Mapping[str, str]) -> str:
    """``private_copies(files)`` in a worker thread. A thread cannot be stopped: when
    the caller is cancelled meanwhile, the copy (private keys) is waited for and removed
    before the cancellation goes on — further cancellations wait too (the copy is a few
    regular files of bounded size)."""
    making = asyncio.ensure_future(asyncio.to_thread(private_copies, files))
    try:
        return await asyncio.shield(making)
    except asyncio.CancelledError:
        while not making.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([making])
        if not making.cancelled() and making.exception() is None:
            await asyncio.shield(asyncio.to_thread(shutil.rmtree, making.result(), True))
        raise


async def _feed_stdin(writer: asyncio.StreamWriter | None, data: bytes | str | None) -> None:
    if writer is None or data is None:
        return
    raw = data.encode() if isinstance(data, str) else data
    try:
        writer.write(raw)
        await writer.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        writer.close()


async def _pump(reader: asyncio.StreamReader | None, sink: LineCollector) -> None:
    if reader is None:
        return
    while chunk := await reader.read(65536):
        sink.feed(chunk)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(proc.wait()), 5)

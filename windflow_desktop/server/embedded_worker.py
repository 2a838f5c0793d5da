"""``windflow serve`` alone (no Redis) runs its deployments on one ``windflow worker``
child process, so the API process never runs a pipeline and a one-machine server needs
nothing else. This supervisor starts it, starts it again when it dies (releasing the rows
the dead one held, so the new one settles them at once instead of after the lease), and
stops it with the server (SIGTERM: the worker drains; killed after the grace period).

The two processes share the database (SQLite in WAL mode with a busy timeout, or
PostgreSQL) and three pipes:
- the worker's standard input: a line per enqueued job wakes it up at once (it reads the
  rows again at least every ``poll_s`` anyway); its end (the server died, even killed)
  makes the worker drain and exit;
- a report pipe (``WINDFLOW_WORKER_REPORT_FD``): one JSON object a line — ``{"event":
  …}`` for every event the worker's bus delivers, published again on the server's bus
  (so the SSE feed, with its ids and ``Last-Event-ID`` replay, carries them as if the
  server had published them), ``{"beat": …}``, ``{"leave": …}`` and ``{"dead": …}`` for
  the Workers page. A pipe rather than the database: the events reach the feed within
  a millisecond, with no table to write, poll and trim; nothing is lost that the
  in-memory feed would have kept, since both processes end together.
- its standard output and error: the server's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.events import Event
from ..services.deploy.embedded_jobs import EmbeddedJobs

log = logging.getLogger("windflow.server.worker")
REPORT_FD_ENV = "WINDFLOW_WORKER_REPORT_FD"
LINE_LIMIT = 64 * 1024 * 1024


class EmbeddedWorker:
    def __init__(self, bus: Any, backend: Any, clock: Callable[[], datetime], *,
                 lease_s: float = 30.0, grace_s: float = 20.0, restart_s: float = 0.5
                 ) -> None:
        self.bus = bus
        self.jobs = EmbeddedJobs(backend, clock, self.wake, lease_s=lease_s)
        self.grace_s, self.restart_s = grace_s, restart_s
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def wake(self) -> None:
        """A job was enqueued: tell the worker now rather than at its next read."""
        process = self.process
        if process is None or process.stdin is None or process.returncode is not None:
            return
        with contextlib.suppress(Exception):
            process.stdin.write(b"\n")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="embedded-worker")

    async def _supervise(self) -> None:
        while not self._stopping:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the worker process could not be run")
            if self._stopping:
                return
            log.warning("the worker process ended; starting it again")
            await asyncio.sleep(self.restart_s)

    async def _run_once(self) -> None:
        read_fd, write_fd = os.pipe()
        env = {**os.environ, REPORT_FD_ENV: str(write_fd)}
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "windflow_desktop.cli", "worker", "--embedded",
                stdin=asyncio.subprocess.PIPE, pass_fds=(write_fd,), env=env)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.process = process
        self.starts += 1
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb"))
        try:
            while line := await reader.readline():
                await self._reported(line)
        finally:
            transport.close()
            await process.wait()
            self.jobs.worker_gone(f":{process.pid}:")
            if not self._stopping:
                await self._release(process.pid)

    async def _reported(self, line: bytes) -> None:
        try:
            message = json.loads(line)
            if "event" in message:
                await self.bus.publish(Event.from_dict(message["event"]))
            else:
                self.jobs.reported(message)
        except Exception:
            log.warning("the worker reported something unreadable", exc_info=True)

    async def _release(self, pid: int) -> None:
        """The worker ``pid`` died: the rows it held lose their heartbeat, so the next
        worker takes them over (and settles them from the target) at once."""
        try:
            async with self.jobs.backend.unit_of_work() as uow:
                for dep in await uow.deployments.unfinished(limit=10_000):
                    if dep.runner is not None and f":{pid}:" in dep.runner:
                        await uow.deployments.release(dep.id, dep.attempt)
                await uow.commit()
        except Exception:
            log.warning("could not release the dead worker's deployments", exc_info=True)

    async def stop(self) -> None:
        """SIGTERM: the worker finishes or hands back its job; killed after the grace
        period; idempotent."""
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.grace_s + 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            except Exception:
                log.warning("the worker's supervisor ended badly", exc_info=True)


class ChildPipes:
    """The worker child's ends of the pipes: ``report`` writes a line to the server
    (every event of ``bus`` goes there too), ``wake`` is set at each line the server
    writes, ``parent_gone`` when the server's end closes."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.wake = asyncio.Event()
        self.parent_gone = asyncio.Event()
        self._out: asyncio.WriteTransport | None = None
        self._stdin: asyncio.Task[None] | None = None
        self._subscription: Any = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        fd = int(os.environ[REPORT_FD_ENV])
        self._out, _ = await loop.connect_write_pipe(asyncio.Protocol,
                                                     os.fdopen(fd, "wb", buffering=0))
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     sys.stdin.buffer)
        self._stdin = asyncio.create_task(self._listen(reader), name="server-pipe")
        self._subscription = self.bus.subscribe(self._relay)

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        while await reader.readline():
            self.wake.set()
        self.parent_gone.set()

    def _relay(self, event: Event) -> None:
        self.report({"event": event.to_dict()})

    def report(self, message: dict[str, Any]) -> None:
        if self._out is not None and not self._out.is_closing():
            self._out.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def close(self) -> None:
        """What is written reaches the server (for a second at most), then the pipes
        close; idempotent."""
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        if self._stdin is not None:
            self._stdin.cancel()
            await asyncio.gather(self._stdin, return_exceptions=True)
            self._stdin = None
        out, self._out = self._out, None
        if out is not None:
            for _ in range(100):
                if out.get_write_buffer_size() == 0:
                    break
                await asyncio.sleep(0.01)
            out.close()

"""A deployment's output: numbered lines, secret values masked, stored in batches and
published as ``deployment.log`` events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from ...domain.enums import LogStream
from ...domain.events import DeploymentLogBatch, Event
from ...domain.models import Deployment
from ...engine.lines import cap_line, mask_secrets
from ...security.redaction import KNOWN_SECRETS
from .context import DeployContext

log = logging.getLogger("windflow.deploy")

_STREAMS = {s.value: s for s in LogStream}

LOG_EVENT_BYTES = 1 << 20
"""Line text per ``deployment.log`` event: far below the bus's entry cap even when every
line is a capped 16 KiB one."""


def log_event_chunks(batch: list[tuple[int, datetime, LogStream, str]], max_lines: int
                  ) -> list[list[tuple[int, datetime, LogStream, str]]]:
    """``batch`` cut into runs of at most ``max_lines`` lines and ``LOG_EVENT_BYTES``."""
    chunks: list[list[tuple[int, datetime, LogStream, str]]] = [[]]
    size = 0
    for row in batch:
        if chunks[-1] and (len(chunks[-1]) >= max_lines
                           or size + len(row[3]) > LOG_EVENT_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(row)
        size += len(row[3])
    return chunks


class LogWriter:
    """Numbers lines, redacts secret values, stores them in batches and publishes each
    stored batch as one ``deployment.log`` event (data: ``{"lines": [[seq, ts, stream,
    line], …]}``), and keeps the stored log within ``max_log_lines`` (oldest trimmed).
    ``add`` is synchronous (executor callbacks); ``flush`` drains."""

    def __init__(self, context: DeployContext, deployment: Deployment, first_seq: int,
                 redact: list[str]) -> None:
        self._ctx = context
        self._dep = deployment
        self._seq = first_seq
        self._redact = [s for s in redact if len(s) >= 4]
        self._registered: list[str] = []  # in the process's file log while running
        self._buffer: list[tuple[int, datetime, LogStream, str]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stored_seq = first_seq
        self._trimmed_through = 0  # as far as this writer knows (a trim is idempotent)
        self.count = 0

    def start(self) -> None:
        self._registered = KNOWN_SECRETS.add(self._redact)
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name=f"deployment-log-{self._dep.id}")

    def redact(self, text: str) -> str:
        """``text`` with every secret value of the run masked (lines, errors, details),
        also the start of one that a line's cut left behind."""
        return mask_secrets(text, self._redact)

    def add(self, stream: str, line: str) -> None:
        line = cap_line(self.redact(line))
        self._seq += 1
        self._buffer.append((self._seq, self._ctx.clock(), _STREAMS[stream], line))
        if len(self._buffer) >= self._ctx.settings.log_batch:
            self._wake.set()

    def system(self, line: str) -> None:
        self.add(LogStream.SYSTEM.value, line)

    async def _loop(self) -> None:
        failures = 0
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._ctx.settings.log_flush_s)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # the lines are kept; a failed write is tried again
                failures += 1
                log.warning("deployment %s: storing %d log lines failed (attempt %d)",
                            self._dep.id, len(self._buffer), failures, exc_info=True)
                await asyncio.sleep(min(0.1 * 2 ** min(failures, 4), 1.0))
            else:
                failures = 0

    async def flush(self, *, exact: bool = False) -> None:
        """Store and publish the buffered lines; trim the stored log when it is a tenth
        over its cap (``exact``: whenever it is over)."""
        async with self._lock:
            while self._buffer:
                batch, self._buffer = self._buffer, []
                trim = self._trim_through(batch[-1][0], exact=False)
                try:
                    async with self._ctx.backend.unit_of_work() as uow:
                        await uow.deployments.append_log_rows(self._dep.id, batch)
                        if trim:
                            await self._trim(uow, trim)
                        await uow.commit()
                except BaseException:
                    self._buffer[:0] = batch  # back in front, in order: the next flush retries
                    raise
                self.count += len(batch)
                self._stored_seq = batch[-1][0]
                self._trimmed_through = max(self._trimmed_through, trim)
                for chunk in log_event_chunks(batch, self._ctx.settings.log_batch):
                    payload = DeploymentLogBatch(tuple(
                        (seq, ts.isoformat(), stream.value, line)
                        for seq, ts, stream, line in chunk))
                    await self._ctx.publish(Event(
                        event_type=payload.TYPE, aggregate_type="deployment",
                        aggregate_id=str(self._dep.id),
                        organization_id=str(self._dep.organization_id),
                        data=payload.to_data(),
                    ))
            trim = self._trim_through(self._stored_seq, exact=True) if exact else 0
            if trim:
                async with self._ctx.backend.unit_of_work() as uow:
                    await self._trim(uow, trim)
                    await uow.commit()
                self._trimmed_through = trim

    async def _trim(self, uow: Any, through: int) -> None:
        cap = self._ctx.settings.max_log_lines
        await uow.deployments.trim_logs(
            self._dep.id, through,
            f"… {through:,} older lines were trimmed: a deployment keeps its newest "
            f"{cap:,} lines", self._ctx.clock())

    def _trim_through(self, last_seq: int, *, exact: bool) -> int:
        """The seq through which to trim after storing up to ``last_seq`` (0: none)."""
        cap = self._ctx.settings.max_log_lines
        through = last_seq - cap
        slack = 0 if exact else max(cap // 10, 1)
        return through if through - self._trimmed_through > slack else 0

    async def close(self) -> None:
        """Store and publish what is left, trimmed to the cap; the loop is never
        cancelled mid-write (that would leave SQLite's write lock with a half-closed
        transaction)."""
        self._closing = True
        self._wake.set()
        try:
            if self._task is not None:
                task, self._task = self._task, None
                await asyncio.gather(task, return_exceptions=True)
            await self.flush(exact=True)
        finally:
            registered, self._registered = self._registered, []
            KNOWN_SECRETS.remove(registered)

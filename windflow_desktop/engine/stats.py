"""Live stats of every running container of one engine, in one batch a second.

The Docker Engine API has no stream of several containers' stats: ``GET
/containers/{id}/stats?stream=1`` is per container (``docker stats`` itself opens one per
container, then prints them together). So one watcher per target keeps one such stream
per running container open on the same ``DockerApi`` (one HTTP client: one connection
pool on the local socket, the TLS engine, or the SSH-forwarded socket of the target's one
pooled SSH connection), each a small reader that only keeps the latest sample, and hands
out what changed once per ``interval_s``. The running containers are listed again every
``refresh_s``: a new one gets a stream, a stopped or removed one loses its own.

Why not ``docker stats --format '{{json .}}'`` over SSH (one process for all): the CLI
opens the same per-container streams on the remote host, and prints rounded, humanised
figures ("1.2MiB / 3.8GiB", "0.52%") that would have to be parsed back, differently per
CLI version, with screen-clearing escapes between refreshes. Through the forwarded socket
every target kind takes one code path and gets exact numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from ..domain.containers import ContainerStats
from ..domain.errors import NotFoundError, WindFlowError
from .docker_api import DockerApi

log = logging.getLogger("windflow.engine.stats")

StatsBatch = dict[str, ContainerStats]


class StatsWatch:
    """The readers of one engine's stats streams; ``batches()`` yields what changed."""

    def __init__(self, api: DockerApi, *, interval_s: float = 1.0,
                 refresh_s: float = 5.0) -> None:
        self.api = api
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._latest: StatsBatch = {}
        self._changed: set[str] = set()

    @property
    def streams(self) -> int:
        """How many stats streams are open (one per running container)."""
        return sum(1 for task in self._readers.values() if not task.done())

    async def batches(self) -> AsyncGenerator[StatsBatch, None]:
        """``{container id: latest sample}`` of the containers with a new sample, once
        per ``interval_s`` (nothing when none changed), until the caller stops iterating;
        then every stream is closed."""
        loop = asyncio.get_running_loop()
        try:
            await self._sync()
            listed_at = loop.time()
            while True:
                await asyncio.sleep(self.interval_s)
                if loop.time() - listed_at >= self.refresh_s:
                    await self._sync()
                    listed_at = loop.time()
                if self._changed:
                    changed, self._changed = self._changed, set()
                    yield {cid: self._latest[cid] for cid in changed if cid in self._latest}
        finally:
            await self.close()

    async def _sync(self) -> None:
        """Open a stream for each running container that has none, close the others'."""
        running = {c.id for c in await self.api.containers(all=False)}
        for cid in [cid for cid in self._readers if cid not in running]:
            self._readers.pop(cid).cancel()
            self._latest.pop(cid, None)
        for cid, task in list(self._readers.items()):
            if task.done():  # its stream ended (the container restarted): open again
                del self._readers[cid]
        self.api.allow_streams(len(running))
        for cid in running - self._readers.keys():
            self._readers[cid] = asyncio.create_task(self._read(cid),
                                                     name=f"stats:{cid[:12]}")

    async def _read(self, container_id: str) -> None:
        try:
            async for sample in self.api.follow_stats(container_id):
                self._latest[container_id] = sample
                self._changed.add(container_id)
        except NotFoundError:
            pass  # removed between the list and the stream: the next list drops it
        except WindFlowError as exc:
            # One stream failing is not the engine failing: the next list (which raises
            # when the engine is gone) opens it again.
            log.info("stats of %s: %s", container_id[:12], exc)

    async def close(self) -> None:
        readers, self._readers = list(self._readers.values()), {}
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

"""Caching for results that are costly to fetch (remote lists, capability probes).

``CacheManager`` keeps JSON values in Redis under ``windflow:cache:`` with a TTL and
invalidates by glob pattern with ``SCAN`` (never ``KEYS``); ``MemoryCacheManager`` is its
in-process twin for local mode. Both have the same API. A cache failure is never an
error for the caller: an unreachable Redis turns into a miss and a log line.
Concurrent ``get_or_set`` calls for one key in this process run the getter once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("windflow.cache")

T = TypeVar("T")
Getter = Callable[[], Awaitable[T]]
CACHE_PREFIX = "windflow:cache:"
_MISSING: Any = object()
_REDIS_ERRORS = (RedisError, OSError, TimeoutError)


class Cache(Protocol):
    async def get(self, key: str, default: Any = None) -> Any: ...
    async def set(self, key: str, value: Any, ttl: float = 300) -> None: ...
    async def get_or_set(self, key: str, getter: Getter[T], ttl: float = 300) -> T: ...
    async def delete(self, key: str) -> None: ...
    async def invalidate_pattern(self, pattern: str) -> int: ...
    async def close(self) -> None: ...


class _SingleFlight:
    """One getter call per key at a time; the other callers await its result."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def run(self, key: str, getter: Getter[T], store: Callable[[T], Awaitable[None]]
                  ) -> T:
        running = self._inflight.get(key)
        if running is not None:
            result: T = await asyncio.shield(running)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await getter()
            await store(value)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if no waiter
            raise
        else:
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)


class _CacheBase:
    """``get_or_set`` on top of a cache's own ``get`` and ``set``: a miss runs the getter
    once per key however many callers wait, and stores what it returns."""

    def __init__(self) -> None:
        self._flights = _SingleFlight()

    async def get(self, key: str, default: Any = None) -> Any:
        raise NotImplementedError

    async def set(self, key: str, value: Any, ttl: float = 300) -> None:
        raise NotImplementedError

    async def get_or_set(self, key: str, getter: Getter[T], ttl: float = 300) -> T:
        cached = await self.get(key, _MISSING)
        if cached is not _MISSING:
            result: T = cached
            return result

        async def store(value: T) -> None:
            await self.set(key, value, ttl)

        return await self._flights.run(key, getter, store)


class CacheManager(_CacheBase):
    """JSON values in Redis with a TTL (seconds); ``invalidate_pattern`` uses SCAN."""

    def __init__(
        self,
        redis_or_url: Redis | str,
        *,
        prefix: str = CACHE_PREFIX,
        command_timeout: float = 1.0,
        scan_count: int = 500,
    ) -> None:
        if isinstance(redis_or_url, str):
            self._redis = Redis.from_url(
                redis_or_url, socket_timeout=command_timeout,
                socket_connect_timeout=command_timeout, retry=Retry(NoBackoff(), 0),
            )
            self._owns_client = True
        else:
            self._redis = redis_or_url
            self._owns_client = False
        self.prefix = prefix
        self._scan_count = scan_count
        super().__init__()

    async def get(self, key: str, default: Any = None) -> Any:
        try:
            raw = await self._redis.get(self.prefix + key)
        except _REDIS_ERRORS as exc:
            log.warning("cache get %s failed: %s", key, exc)
            return default
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            # Anyone who can write to Redis can leave anything here: a miss, not a crash.
            log.warning("cache value of %s unreadable (%s): treated as a miss", key,
                        type(exc).__name__)
            return default

    async def set(self, key: str, value: Any, ttl: float = 300) -> None:
        payload = json.dumps(value, separators=(",", ":"), default=str)
        try:
            await self._redis.set(self.prefix + key, payload, px=max(1, int(ttl * 1000)))
        except _REDIS_ERRORS as exc:
            log.warning("cache set %s failed: %s", key, exc)

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self.prefix + key)
        except _REDIS_ERRORS as exc:
            log.warning("cache delete %s failed: %s", key, exc)

    async def invalidate_pattern(self, pattern: str) -> int:
        """Delete every key matching the glob ``pattern``; returns how many went."""
        removed = 0
        batch: list[bytes | str] = []
        try:
            async for key in self._redis.scan_iter(match=self.prefix + pattern,
                                                   count=self._scan_count):
                batch.append(key)
                if len(batch) >= self._scan_count:
                    removed += int(await self._redis.unlink(*batch))
                    batch = []
            if batch:
                removed += int(await self._redis.unlink(*batch))
        except _REDIS_ERRORS as exc:
            log.warning("cache invalidation of %s failed: %s", pattern, exc)
        return removed

    async def close(self) -> None:
        if self._owns_client:
            with contextlib.suppress(*_REDIS_ERRORS):
                await self._redis.aclose()


class MemoryCacheManager(_CacheBase):
    """The in-process twin of ``CacheManager`` (local mode); values are JSON-copied."""

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        super().__init__()

    async def get(self, key: str, default: Any = None) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return default
        expires_at, payload = entry
        if expires_at <= self._clock():
            del self._entries[key]
            return default
        self._entries.move_to_end(key)
        return json.loads(payload)

    async def set(self, key: str, value: Any, ttl: float = 300) -> None:
        # Stored as JSON so both twins hand back equal, unshared values.
        payload = json.dumps(value, separators=(",", ":"), default=str)
        self._entries[key] = (self._clock() + ttl, payload)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def invalidate_pattern(self, pattern: str) -> int:
        doomed = [k for k in self._entries if fnmatch.fnmatchcase(k, pattern)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    async def close(self) -> None:
        self._entries.clear()

"""Building the bus and the cache from settings: Redis when a URL is set, else local."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .local import LocalBus
from .protocol import EventBus

if TYPE_CHECKING:
    from .cache import Cache


def create_bus(redis_url: str | None, client_id: str, **options: Any) -> EventBus:
    """A ``RedisStreamBus`` for ``redis_url`` (``options`` go to it), else a ``LocalBus``.

    ``client_id`` is the per-installation id the app keeps in its data folder; it names
    the consumer group, so it must stay the same across restarts.
    """
    if not redis_url:
        return LocalBus()
    from .redis_bus import RedisStreamBus  # redis.asyncio costs ~140 ms to import

    return RedisStreamBus(redis_url, client_id, **options)


def create_cache(redis_url: str | None) -> Cache:
    """A Redis ``CacheManager`` for ``redis_url``, else the in-memory twin."""
    from .cache import CacheManager, MemoryCacheManager

    if not redis_url:
        return MemoryCacheManager()
    return CacheManager(redis_url)

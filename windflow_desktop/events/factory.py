"""Building the bus from settings: Redis when a URL is set, else in-process."""

from __future__ import annotations

from typing import Any

from .local import LocalBus
from .protocol import EventBus


def create_bus(redis_url: str | None, client_id: str, **options: Any) -> EventBus:
    """A ``RedisStreamBus`` for ``redis_url`` (``options`` go to it), else a ``LocalBus``.

    ``client_id`` is the per-installation id the app keeps in its data folder; it names
    the consumer group, so it must stay the same across restarts.
    """
    if not redis_url:
        return LocalBus()
    from .redis_bus import RedisStreamBus  # redis.asyncio costs ~140 ms to import

    return RedisStreamBus(redis_url, client_id, **options)

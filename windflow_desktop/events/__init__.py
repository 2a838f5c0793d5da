"""Event buses (``LocalBus`` in-process, ``RedisStreamBus`` on Redis Streams) and caching.

``create_bus(redis_url, client_id)`` picks one; ``redis_bus`` and ``cache`` import
redis-py, so import them lazily (after the first paint).
"""

from .factory import create_bus, create_cache
from .local import LocalBus
from .protocol import BusState, EventBus, EventHandler, Subscription

__all__ = [
    "BusState",
    "EventBus",
    "EventHandler",
    "LocalBus",
    "Subscription",
    "create_bus",
    "create_cache",
]

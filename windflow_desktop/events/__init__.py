"""Event buses (``LocalBus`` in-process, ``RedisStreamBus`` on Redis Streams).

``create_bus(redis_url, client_id)`` picks one; ``redis_bus`` imports redis-py, so it is
imported lazily (after the first paint).
"""

from .factory import create_bus
from .local import LocalBus
from .protocol import BusState, EventBus, EventHandler, Subscription

__all__ = [
    "BusState",
    "EventBus",
    "EventHandler",
    "LocalBus",
    "Subscription",
    "create_bus",
]

"""Event buses (``LocalBus`` in-process, ``RedisStreamBus`` on Redis Streams) and caching."""

"""``CacheManager`` on a real Redis: TTL, SCAN-based invalidation, Redis down is a miss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.env.redis import RedisServer
from windflow_desktop.events import create_cache
from windflow_desktop.events.cache import CacheManager

pytestmark = pytest.mark.redis


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[CacheManager]:
    manager = CacheManager(redis_url)
    yield manager
    await manager.close()


async def test_get_or_set_with_ttl(cache: CacheManager, redis_url: str) -> None:
    calls = 0

    async def load() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"targets": [1, 2], "n": calls}

    assert await cache.get_or_set("targets:org:1", load, ttl=0.2) == {"targets": [1, 2], "n": 1}
    assert await cache.get_or_set("targets:org:1", load, ttl=0.2) == {"targets": [1, 2], "n": 1}
    client = Redis.from_url(redis_url)
    ttl_ms = await client.pttl("windflow:cache:targets:org:1")
    await client.aclose()
    assert 0 < ttl_ms <= 200
    await asyncio.sleep(0.25)  # let Redis expire the key
    assert (await cache.get_or_set("targets:org:1", load, ttl=0.2))["n"] == 2


async def test_invalidate_pattern_uses_scan_over_many_keys(cache: CacheManager) -> None:
    for i in range(1_200):
        await cache.set(f"targets:org:{i % 3}:{i}", i)
    await cache.set("stacks:org:1", "kept")
    assert await cache.invalidate_pattern("targets:org:1:*") == 400
    assert await cache.invalidate_pattern("targets:*") == 800
    assert await cache.get("stacks:org:1") == "kept"


async def test_redis_down_is_a_miss_not_an_error(redis_server: RedisServer) -> None:
    cache = create_cache(redis_server.url)
    assert isinstance(cache, CacheManager)
    await asyncio.to_thread(redis_server.stop)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return 7

    assert await cache.get_or_set("k", load) == 7
    assert await cache.get_or_set("k", load) == 7
    assert calls == 2
    assert await cache.invalidate_pattern("*") == 0
    await cache.close()


async def test_a_poisoned_value_is_a_miss_and_is_replaced(
    cache: CacheManager, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = Redis.from_url(redis_url)
    await client.set("windflow:cache:deep", b"[" * 100_000 + b"]" * 100_000)
    await client.set("windflow:cache:cut", b'{"targets": [1,')
    await client.aclose()

    async def load() -> str:
        return "fresh"

    assert await cache.get("cut", "missing") == "missing"
    assert await cache.get_or_set("deep", load) == "fresh"
    assert await cache.get("deep") == "fresh"
    assert "unreadable" in caplog.text

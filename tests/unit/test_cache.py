"""``MemoryCacheManager`` (the local twin of the Redis ``CacheManager``)."""

from __future__ import annotations

import asyncio

import pytest

from windflow_desktop.events import create_cache
from windflow_desktop.events.cache import MemoryCacheManager


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_get_or_set_caches_until_ttl() -> None:
    clock = Clock()
    cache = MemoryCacheManager(clock=clock)
    calls = 0

    async def load() -> list[dict[str, int]]:
        nonlocal calls
        calls += 1
        return [{"id": calls}]

    assert await cache.get_or_set("targets:org:1", load, ttl=10) == [{"id": 1}]
    assert await cache.get_or_set("targets:org:1", load, ttl=10) == [{"id": 1}]
    clock.now += 10.5
    assert await cache.get_or_set("targets:org:1", load, ttl=10) == [{"id": 2}]
    assert calls == 2


async def test_falsy_values_are_cached_too() -> None:
    cache = MemoryCacheManager()
    calls = 0

    async def load() -> list[int]:
        nonlocal calls
        calls += 1
        return []

    await cache.get_or_set("empty", load)
    await cache.get_or_set("empty", load)
    assert calls == 1


async def test_values_are_copies() -> None:
    cache = MemoryCacheManager()
    value = {"a": [1]}
    await cache.set("k", value)
    value["a"].append(2)
    got = await cache.get("k")
    got["a"].append(3)
    assert await cache.get("k") == {"a": [1]}


async def test_invalidate_pattern_and_delete() -> None:
    cache = MemoryCacheManager()
    for key in ("targets:org:1", "targets:org:2", "stacks:org:1"):
        await cache.set(key, key)
    assert await cache.invalidate_pattern("targets:*") == 2
    assert await cache.get("targets:org:1") is None
    assert await cache.get("stacks:org:1") == "stacks:org:1"
    await cache.delete("stacks:org:1")
    assert await cache.get("stacks:org:1", "missing") == "missing"


async def test_concurrent_callers_share_one_getter_call() -> None:
    cache = MemoryCacheManager()
    calls = 0
    release = asyncio.Event()

    async def load() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiters = [asyncio.create_task(cache.get_or_set("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [42] * 5
    assert calls == 1


async def test_getter_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = MemoryCacheManager()

    async def broken() -> int:
        await asyncio.sleep(0)
        raise LookupError("remote down")

    results = await asyncio.gather(
        cache.get_or_set("k", broken), cache.get_or_set("k", broken), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results)

    async def fine() -> int:
        return 1

    assert await cache.get_or_set("k", fine) == 1


async def test_size_is_bounded() -> None:
    cache = MemoryCacheManager(max_entries=2)
    for key in "abc":
        await cache.set(key, key)
    assert await cache.get("a") is None and await cache.get("c") == "c"


def test_factory_picks_the_twin_without_redis() -> None:
    assert isinstance(create_cache(None), MemoryCacheManager)


@pytest.mark.parametrize("pattern", ["*", "x*"])
async def test_close_empties(pattern: str) -> None:
    cache = MemoryCacheManager()
    await cache.set("x1", 1)
    await cache.close()
    assert await cache.invalidate_pattern(pattern) == 0

"""``HealthMonitor.close()`` stops the loop for good: its owner is shut down, and a
``start()`` afterwards (a load of the fleet ending meanwhile) must not bring it back."""

from __future__ import annotations

import asyncio

from windflow_desktop.services.health_loop import HealthMonitor


async def test_stop_can_start_again_but_close_is_for_good() -> None:
    rounds = 0

    async def round_() -> None:
        nonlocal rounds
        rounds += 1

    monitor = HealthMonitor(round_, interval_s=3600)
    monitor.start()
    await asyncio.sleep(0)
    await monitor.stop()
    monitor.start()  # stopped only: starts again
    assert monitor.running
    await monitor.close()
    assert not monitor.running
    before = rounds
    monitor.start()
    assert not monitor.running
    await asyncio.sleep(0.01)
    assert rounds == before
    await monitor.close()  # idempotent

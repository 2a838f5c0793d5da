"""``run_to_end``: clean-up that holds secrets (a preview's staged ``.env.next``) finishes
even when its caller is cancelled twice, and the cancellation still reaches the caller."""

import asyncio

import pytest

from windflow_desktop.tasks import run_to_end


async def test_a_clean_up_cancelled_twice_still_runs_to_its_end() -> None:
    steps: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def clean_up() -> None:
        started.set()
        await release.wait()
        steps.append("removed")

    caller = asyncio.ensure_future(run_to_end(clean_up()))
    await started.wait()
    caller.cancel()
    await asyncio.sleep(0)
    caller.cancel()  # the dialog closed while the preview was already being cancelled
    await asyncio.sleep(0)
    assert not caller.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert steps == ["removed"]


async def test_its_result_comes_back_when_nothing_cancels() -> None:
    async def value() -> int:
        return 7

    assert await run_to_end(value()) == 7

"""``TargetSweep`` with checks that overlap: a check that read an older state and ends
after a check begun later never puts its older answer back (a drift seen before "Keep
changes" committed stayed on the dashboard until the next round); the targets it did not
check keep what is shown."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, Signal

from windflow_desktop.domain.identity import Principal
from windflow_desktop.stores.sweeps import TargetSweep


class _Session(QObject):
    sig_session_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.principal = Principal(uuid.uuid4(), uuid.uuid4(), None, False)

    def require_principal(self) -> Principal:
        return self.principal


class _Targets(QObject):
    sig_targets_reset = Signal()

    def __init__(self, ids: list[uuid.UUID]) -> None:
        super().__init__()
        self.targets = [SimpleNamespace(id=i) for i in ids]
        self.loaded = True


def _sweep(answers: dict[uuid.UUID, list[Any]]) -> TargetSweep[str]:
    """Each check of a target takes its next (delay, answer) from ``answers``."""
    async def check(_p: Principal, target: uuid.UUID) -> list[str]:
        delay, answer = answers[target].pop(0)
        await asyncio.sleep(delay)
        return [answer]
    return TargetSweep(_Session(), check, _Targets(list(answers)))  # type: ignore[arg-type]


async def test_an_older_check_ending_last_does_not_put_its_answer_back() -> None:
    box = uuid.uuid4()
    sweep = _sweep({box: [(0.2, "drifted"), (0.0, "matching")]})
    older = asyncio.ensure_future(sweep._check())  # reads the state before the change
    await asyncio.sleep(0.05)
    await sweep._check()  # begun after the change, ends first
    assert sweep.results == {box: ("matching",)}
    await older
    assert sweep.results == {box: ("matching",)}


async def test_a_check_of_some_targets_keeps_the_others_as_shown_now() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    sweep = _sweep({one: [(0.2, "one-old")], two: [(0.0, "two-new")]})
    partial = asyncio.ensure_future(sweep._check(only={one}))
    await asyncio.sleep(0.05)
    await sweep._check(only={two})
    await partial
    assert sweep.results == {one: ("one-old",), two: ("two-new",)}

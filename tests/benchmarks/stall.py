"""Measuring how long the Qt event loop stalls: a 1 ms timer's ticks and their longest gap
(light on purpose: the stall benchmarks import nothing else from here)."""

from __future__ import annotations

import itertools
import time
from typing import Any


def ticker() -> tuple[Any, list[float]]:
    """A 1 ms precise Qt timer (not started) and the list its ticks go to."""
    from PySide6.QtCore import Qt, QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    return timer, ticks


def max_gap_ms(ticks: list[float], started: float, finished: float) -> float:
    """The longest gap between ticks from ``started`` to ``finished``: the loop's stall."""
    window = [started] + [x for x in ticks if started <= x <= finished] + [finished]
    return max(b - a for a, b in itertools.pairwise(window)) * 1000

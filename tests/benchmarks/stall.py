"""Measuring how long the Qt event loop stalls: a 1 ms timer's ticks and their longest gap
(light on purpose: the stall benchmarks import nothing else from here).

On a shared machine a gap also holds the time the OS ran other processes; the thread's
CPU time at each tick (``cpu_ticker``) tells the loop's own work apart from that.
"""

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


def cpu_ticker() -> tuple[Any, list[tuple[float, float]]]:
    """Like ``ticker``, each tick a pair (wall clock, this thread's CPU time)."""
    from PySide6.QtCore import Qt, QTimer

    ticks: list[tuple[float, float]] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), time.thread_time())))
    return timer, ticks


def max_gap_ms(ticks: list[float], started: float, finished: float) -> float:
    """The longest gap between ticks from ``started`` to ``finished``: the loop's stall."""
    window = [started] + [x for x in ticks if started <= x <= finished] + [finished]
    return max(b - a for a, b in itertools.pairwise(window)) * 1000


def max_cpu_gap_ms(ticks: list[tuple[float, float]], started: float,
                   finished: float) -> float:
    """The most CPU time the loop's thread spent between two ticks from ``started`` to
    ``finished``: its stall without the time the OS gave to other processes."""
    window = [cpu for wall, cpu in ticks if started <= wall <= finished]
    return max((b - a for a, b in itertools.pairwise(window)), default=0.0) * 1000


class FullCollections:
    """A ``gc.callbacks`` entry noting each full (generation 2) collection: when it
    started and how long it held the thread."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []  # (started, ms)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((self._started, (time.perf_counter() - self._started) * 1000))

    def within(self, started: float, finished: float) -> list[float]:
        """The pauses of the collections that started from ``started`` to ``finished``."""
        return [ms for at, ms in self.pauses if started <= at <= finished]

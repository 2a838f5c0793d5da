"""``GcPolicy``: no full collection on CPython's own schedule, a due one waits for a quiet
moment (bus batches and store loads push it back), a sweep reclaims frozen garbage."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from pytestqt.qtbot import QtBot

from windflow_desktop.gc_policy import GcPolicy


class Pulse(QObject):
    sig_pulsed = Signal()


class Node:
    """A reference cycle: freed only by the cyclic collector."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """Generation-2 collections, as they start."""
    started: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    gc.callbacks.append(watch)
    yield started
    gc.callbacks.remove(watch)


@pytest.fixture
def policies() -> Iterator[list[GcPolicy]]:
    made: list[GcPolicy] = []
    threshold = gc.get_threshold()
    yield made
    for policy in made:
        policy.stop()
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == 0


def churn() -> list[Any]:
    """Enough surviving allocations that CPython would start full collections."""
    return [[i] for i in range(300_000)]


def garbage_in_the_old_generation() -> weakref.ref[Node]:
    node = Node()
    ref = weakref.ref(node)
    kept = churn()  # node survives young collections: it moves to the old generation
    del node, kept
    return ref


def test_no_full_collection_on_cpythons_schedule_and_a_due_one_waits_for_quiet(
    qtbot: QtBot, policies: list[GcPolicy], full_collections: list[int],
) -> None:
    policy = GcPolicy(quiet_ms=1_000, check_ms=20)  # 100x the pulse: room for a slow box
    policies.append(policy)
    pulse = Pulse()
    policy.watch(pulse.sig_pulsed)
    policy.start()
    assert policy.collections == 1 and gc.get_freeze_count() > 0
    full_collections.clear()

    ref = garbage_in_the_old_generation()
    kept = churn()
    assert gc.get_count()[2] >= 10  # CPython would have run a full collection by now
    assert full_collections == [] and ref() is not None

    busy = QTimer()
    busy.timeout.connect(pulse.sig_pulsed.emit)
    busy.start(10)  # a stream of bus batches: the due collection waits
    qtbot.waitUntil(lambda: policy.due, timeout=2_000)
    qtbot.wait(1_500)
    assert policy.collections == 1 and ref() is not None and full_collections == []
    busy.stop()
    qtbot.waitUntil(lambda: ref() is None, timeout=5_000)
    assert policy.collections == 2 and policy.sweeps == 0 and len(full_collections) == 1
    assert not policy.due
    del kept


def test_a_sweep_reclaims_garbage_among_frozen_objects(
    qtbot: QtBot, policies: list[GcPolicy],
) -> None:
    node = Node()
    ref = weakref.ref(node)
    policy = GcPolicy(quiet_ms=50, check_ms=20, sweep_every_s=3600)
    policies.append(policy)
    policy.start()  # node is frozen with the start-up heap
    del node
    kept = churn()
    qtbot.waitUntil(lambda: policy.collections == 2, timeout=5_000)
    assert ref() is not None and policy.sweeps == 0  # a plain collection skips the frozen
    policy.stop()

    sweeping = GcPolicy(quiet_ms=50, check_ms=20, sweep_every_s=0)
    policies.append(sweeping)
    sweeping.start()
    kept = churn()
    qtbot.waitUntil(lambda: sweeping.sweeps == 1, timeout=5_000)
    assert ref() is None
    del kept


def test_activity_that_never_pauses_gets_its_collection_after_max_wait(
    qtbot: QtBot, policies: list[GcPolicy],
) -> None:
    policy = GcPolicy(quiet_ms=60_000, check_ms=20, max_wait_s=0.3)
    policies.append(policy)
    pulse = Pulse()
    policy.watch(pulse.sig_pulsed)
    policy.start()
    kept = churn()
    busy = QTimer()
    busy.timeout.connect(pulse.sig_pulsed.emit)
    busy.start(10)
    qtbot.waitUntil(lambda: policy.collections == 2, timeout=5_000)
    busy.stop()
    del kept


def test_stop_hands_collections_back(policies: list[GcPolicy], qtbot: QtBot) -> None:
    threshold = gc.get_threshold()
    policy = GcPolicy()
    policy.start()
    assert policy.active and gc.get_threshold()[2] > 1_000_000
    policy.stop()
    policy.stop()
    assert not policy.active and gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0

"""Benchmarks: ``python -m tests.benchmarks [TEXT]`` runs those whose name contains TEXT.

A benchmark module is ``tests/benchmarks/bench_<area>.py``; it registers async or plain
functions with ``@benchmark("name")`` that return ``{metric: value}``. The runner prints
one JSON object of all metrics as its last line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BenchFn = Callable[[], Any]
REGISTRY: dict[str, BenchFn] = {}


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    def register(fn: BenchFn) -> BenchFn:
        REGISTRY[name] = fn
        return fn

    return register

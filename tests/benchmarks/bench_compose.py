"""``compose_validation_worst_ms`` and ``compose_validation_worst_mb``: the slowest time
and the largest extra memory (tracemalloc peak) of one ``validate_compose`` over hostile
files within the size caps — the issue's 60 KB scalar of 20,000 ``$A`` aliased 40 times,
the same grown to the 512 KiB cap, aliases just under the expansion budget, as many tiny
nodes as allowed, as many undeclared variables as allowed, a thousand services, duplicate
keys, 10,000 ``[``. Time is the best of three runs without tracemalloc, memory a fourth
run with it. Goal: < 1,000 ms and < 50 MB each."""

from __future__ import annotations

import time
import tracemalloc

from windflow_desktop.engine.compose_validation import (
    MAX_COMPOSE_BYTES,
    MAX_NODES,
    MAX_VALUE_BYTES,
    MAX_VARIABLE_USES,
    validate_compose,
)

from . import benchmark

RUNS = 3
HEAD = "services:\n  web:\n    image: a\n"


def _aliased(uses: int, aliases: int) -> str:
    return (f'x-a: &a "{"$A " * uses}"\n' + HEAD
            + f"    command: [{', '.join(['*a'] * aliases)}]\n")


def _cases() -> dict[str, str]:
    cap = MAX_COMPOSE_BYTES - 200
    under = MAX_VALUE_BYTES // 41 - 40  # 40 aliases + the anchor stay within the budget
    return {
        "issue_60kb_aliased_40": _aliased(20_000, 40),
        "cap_scalar_of_variables": _aliased(cap // 3, 0),
        "aliases_under_budget": _aliased(under // 3, 40),
        "tiny_nodes": HEAD + "    command: [" + ",".join(["1"] * (MAX_NODES - 20)) + "]\n",
        "undeclared_variables": HEAD + "    environment:\n" + "".join(
            f"      V{i}: ${{V{i}}}\n" for i in range(MAX_VARIABLE_USES)),
        "many_services": "services:\n" + "".join(
            f"  s{i}:\n    image: a\n    ports: ['{i % 60000 + 1}:80']\n"
            f"    volumes: ['./d{i}:/d', '/h{i}:/h']\n    depends_on: [s0]\n"
            for i in range(MAX_NODES // 16)),
        "duplicate_keys": HEAD + "    labels:\n" + "      k: v\n" * (cap // 12),
        "deep_nesting": "[" * 10_000,
    }


@benchmark("compose_validation")
def bench_compose_validation() -> dict[str, float]:
    worst_ms, worst_mb = 0.0, 0.0
    for text in _cases().values():
        assert len(text.encode()) <= MAX_COMPOSE_BYTES
        elapsed = float("inf")
        for _ in range(RUNS):  # the best run: the code's cost, not the machine's load
            started = time.perf_counter()
            validate_compose(text)
            elapsed = min(elapsed, (time.perf_counter() - started) * 1000)
        tracemalloc.start()
        validate_compose(text)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        worst_ms, worst_mb = max(worst_ms, elapsed), max(worst_mb, peak)
    return {"compose_validation_worst_ms": round(worst_ms, 1),
            "compose_validation_worst_mb": round(worst_mb, 1)}

"""Start-up: the time from process start to the first painted window (smoke mode)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from . import benchmark

RUNS = 5


def smoke_ready_ms(command: Sequence[str], runs: int = RUNS) -> list[float]:
    """``ready_ms`` of ``runs`` smoke starts, each on a fresh workspace."""
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
            env.update(WINDFLOW_HOME=home, QT_QPA_PLATFORM="offscreen")
            out = subprocess.run(
                [*command, "--smoke"], env=env, capture_output=True, text=True, timeout=120,
                check=True,
            )
            results.append(float(json.loads(out.stdout.strip().splitlines()[-1])["ready_ms"]))
    return results


@benchmark("startup_ready")
def startup_ready() -> dict[str, float]:
    command = [sys.executable, "-m", "windflow_desktop"]
    smoke_ready_ms(command, runs=1)  # warm the bytecode cache, as an installed app has it
    return {"startup_ready_ms": statistics.median(smoke_ready_ms(command))}

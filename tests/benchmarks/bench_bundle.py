"""The PyInstaller bundle: its size on disk and its smoke start time."""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

from . import benchmark
from .bench_startup import smoke_ready_ms

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "windflow-desktop"


@benchmark("bundle")
def bundle() -> dict[str, float]:
    executable = BUNDLE / "windflow-desktop"
    if not executable.exists():
        subprocess.run(["make", "dist"], cwd=ROOT, check=True, capture_output=True)
    size = sum(f.stat().st_size for f in BUNDLE.rglob("*") if f.is_file() and not f.is_symlink())
    smoke_ready_ms([str(executable)], runs=1)  # first start reads the files from disk
    return {
        "bundle_size_mb": round(size / 1_000_000, 1),
        "bundle_ready_ms": statistics.median(smoke_ready_ms([str(executable)])),
    }

"""The desktop app as a real process on a given data folder (offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_app(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
    environ.update({"WINDFLOW_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **env})
    return subprocess.run(
        [sys.executable, "-m", "windflow_desktop", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )

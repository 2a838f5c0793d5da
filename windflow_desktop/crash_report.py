"""When the interpreter itself dies (a crash in Qt or another native library), Python's
``faulthandler`` writes every thread's stack to ``crash.log`` in the data folder; at the
next start that report is moved aside (``crash-<time>.log``) and the window says that
WindFlow quit unexpectedly, and where the report is."""

from __future__ import annotations

import faulthandler
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

CRASH_FILE = "crash.log"
_open: list[IO[str]] = []  # kept open (and alive) for faulthandler while the app runs


def take_previous(home: Path) -> Path | None:
    """The report a crash left last time, moved aside; None when the app last ended well."""
    report = home / CRASH_FILE
    try:
        if report.stat().st_size == 0:
            return None
    except FileNotFoundError:
        return None
    kept = home / f"crash-{datetime.now(UTC):%Y%m%d-%H%M%S}.log"
    report.replace(kept)
    return kept


def notice(report: Path) -> str:
    return (f"WindFlow quit unexpectedly last time. The report is in {report}: please "
            "attach it when you tell us about it.")


def enable(home: Path) -> None:
    """Write the stacks of all threads to ``crash.log`` (0600) if the process dies."""
    descriptor = os.open(home / CRASH_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    stream = os.fdopen(descriptor, "w")
    _open.append(stream)
    faulthandler.enable(file=stream, all_threads=True)

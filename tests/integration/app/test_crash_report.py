"""A process that dies in native code leaves every thread's stack in ``crash.log``; the
next start moves it aside and says that WindFlow quit unexpectedly, with the path (a real
crashing child, then a real ``--smoke`` start)."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.process import run_app

CRASH = ("import sys, faulthandler; from pathlib import Path; "
         "from windflow_desktop import crash_report; "
         "crash_report.enable(Path(sys.argv[1])); faulthandler._sigsegv()")


def test_a_crash_is_reported_at_the_next_start(tmp_path: Path) -> None:
    died = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], capture_output=True)
    assert died.returncode == -signal.SIGSEGV
    report = tmp_path / "crash.log"
    assert "Fatal Python error: Segmentation fault" in report.read_text()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600

    started = run_app(tmp_path, "--smoke")
    assert started.returncode == 0, started.stderr
    [kept] = list(tmp_path.glob("crash-*.log"))
    assert "Segmentation fault" in kept.read_text()
    log = (tmp_path / "logs" / "windflow.log").read_text()
    assert f"WindFlow quit unexpectedly last time. The report is in {kept}" in log
    assert report.read_text() == ""  # this run ended well: nothing to report next time

    again = run_app(tmp_path, "--smoke")
    assert again.returncode == 0, again.stderr
    assert "quit unexpectedly" not in (tmp_path / "logs" / "windflow.log").read_text() \
        .split(log)[-1]

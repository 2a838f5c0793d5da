"""The real program: smoke mode on a fresh and an existing workspace, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.env.services import free_port
from tests.support.config import unwritable_home
from tests.support.process import run_app


def assert_clean_failure(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("windflow-desktop:")]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "windflow_desktop", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("windflow-desktop ")


def test_smoke_creates_then_reopens_the_workspace(tmp_path: Path) -> None:
    for _ in range(2):
        result = run_app(tmp_path, "--smoke")
        assert result.returncode == 0, result.stderr
        ready = json.loads(result.stdout.strip().splitlines()[-1])
        assert ready["version"]
        assert 0 < ready["ready_ms"] < 60_000
    assert (tmp_path / "workspace.db").exists()
    assert "first window painted" in (tmp_path / "logs" / "windflow.log").read_text()


def test_corrupt_settings_file(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("this is = = not toml")
    assert_clean_failure(run_app(tmp_path, "--smoke"), "is not valid TOML")


def test_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    result = run_app(tmp_path, "--smoke", WINDFLOW_DATABASE_URL=url)
    assert_clean_failure(result, "cannot open the database")
    assert result.returncode == 2


def test_unwritable_data_folder(tmp_path: Path) -> None:
    assert_clean_failure(run_app(unwritable_home(tmp_path), "--smoke"), "is not writable")


@pytest.mark.parametrize("url", ["sqlite:////proc/windflow/workspace.db"])
def test_database_file_in_unwritable_place(tmp_path: Path, url: str) -> None:
    result = run_app(tmp_path, "--smoke", WINDFLOW_DATABASE_URL=url)
    assert_clean_failure(result, "cannot open the database")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_or_terminate_runs_the_teardown(tmp_path: Path, signum: int) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
    environ.update({"WINDFLOW_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "windflow_desktop"], env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    log = tmp_path / "logs" / "windflow.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "first window painted" in log.read_text()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the window never came up"
        time.sleep(0.05)
    time.sleep(0.5)  # the workspace opens and the first-run dialog waits for the user
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert log.read_text().rstrip().endswith("windflow.app: stopped")

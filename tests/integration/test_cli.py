"""The real program: smoke mode on a fresh and an existing workspace, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.env.services import free_port
from tests.unit.test_config import unwritable_home


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

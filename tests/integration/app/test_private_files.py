"""The data folder is private: the real program started under umask 022 leaves a 0700
folder and only 0600 files (fresh, and over files an earlier run left readable); the
database's WAL files are private while it runs; a settings file others can read is
reported in the log (and, see tests/gui/app/test_private_files_notice.py, in the window)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.config import load_settings
from windflow_desktop.logging_setup import PrivateRotatingFileHandler
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.workspace import Workspace


def smoke_under_umask_022(home: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
    environ.update({"WINDFLOW_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
                    "PYTHON_KEYRING_BACKEND": "tests.env.keyring_backend.MemoryKeyring"})
    return subprocess.run(
        [sys.executable, "-m", "windflow_desktop", "--smoke"], env=environ,
        capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )


def modes(home: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every entry under ``home`` (and ``home`` itself) with its permission bits."""
    found = {".": oct(stat.S_IMODE(home.stat().st_mode))}
    for path in home.rglob("*"):
        if path.name not in skip:
            found[str(path.relative_to(home))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def expected(found: dict[str, str], home: Path) -> dict[str, str]:
    return {name: "0o700" if (home / name).is_dir() else "0o600" for name in found}


def test_a_fresh_workspace_under_umask_022_is_private(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    result = smoke_under_umask_022(home)
    assert result.returncode == 0, result.stderr
    found = modes(home)
    assert {"workspace.db", "client-id", "ui.ini", "logs", "logs/windflow.log"} <= set(found)
    assert found == expected(found, home)


def test_files_an_earlier_run_left_readable_are_tightened(tmp_path: Path) -> None:
    home = tmp_path / "old"
    (home / "logs").mkdir(parents=True)
    for name in ("workspace.db", "client-id", "ui.ini", "known_hosts",
                 "logs/windflow.log", "logs/windflow.log.1", "logs/windflow.log.2"):
        (home / name).write_text("")
        (home / name).chmod(0o644)
    (home / "logs").chmod(0o755)
    home.chmod(0o755)
    (home / "settings.toml").write_text('log_level = "INFO"\n')
    (home / "settings.toml").chmod(0o644)
    result = smoke_under_umask_022(home)
    assert result.returncode == 0, result.stderr
    found = modes(home, skip=("settings.toml",))
    assert "logs/windflow.log.2" in found and "known_hosts" in found
    assert found == expected(found, home)
    # The user's own settings file is left alone, but its exposure is reported.
    assert stat.S_IMODE((home / "settings.toml").stat().st_mode) == 0o644
    log = (home / "logs" / "windflow.log").read_text()
    assert "settings.toml can be read by other users" in log
    assert "chmod 600" in log


async def test_the_database_and_its_wal_files_are_private_while_open(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        workspace = Workspace(load_settings({"WINDFLOW_HOME": str(tmp_path / "w")}),
                              secrets=SecretStore(MemoryKeyring()))
        await workspace.open()
        try:
            home = tmp_path / "w"
            found = {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir()
                     if p.name.startswith("workspace.db")}
            assert {"workspace.db", "workspace.db-wal", "workspace.db-shm"} <= set(found)
            assert set(found.values()) == {0o600}, found
        finally:
            await workspace.close()
    finally:
        os.umask(old)


def test_rotated_logs_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    handler = PrivateRotatingFileHandler(tmp_path / "windflow.log", maxBytes=200,
                                         backupCount=3, encoding="utf-8")
    try:
        record = logging.LogRecord("windflow.test", logging.INFO, __file__, 1, "x" * 100,
                                   None, None)
        for _ in range(8):
            handler.emit(record)
    finally:
        handler.close()
        os.umask(old)
    found = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert {"windflow.log", "windflow.log.1", "windflow.log.3"} <= set(found)
    assert set(found.values()) == {0o600}, found

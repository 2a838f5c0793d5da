"""The data folder is its user's alone: the folder (and ``logs/``) 0700, every file the
app writes there 0600 — the workspace database with SQLite's ``-wal``/``-shm``, the logs
and their rotated copies, ``known_hosts``, ``client-id``, ``ui.ini``.

Two halves: the app process runs under a restrictive umask from its first line (what it
creates is private from birth), and what already exists (made by an earlier version or
under another umask) is tightened at start. ``settings.toml`` is the user's own file and
is left as it is, but one that others can read is reported (it may hold a database
password). Nothing here imports Qt or the database: it runs before both.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600
# What the app writes in the data folder (``logs/`` holds the log and its rotated copies).
PRIVATE_FILES = ("workspace.db", "workspace.db-wal", "workspace.db-shm",
                 "workspace.db-journal", "client-id", "ui.ini", "ui.ini.lock",
                 "known_hosts", "known_hosts.tmp")
LOG_FOLDER = "logs"
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def restrict_umask() -> int:
    """Make everything this process creates from now on private; returns the old mask."""
    return os.umask(PRIVATE_UMASK)


def make_private(home: Path) -> None:
    """Tighten the data folder and what the app wrote in it (never follows a symlink,
    never touches another user's file or a file the app does not own)."""
    _chmod(home, FOLDER_MODE, folder=True)
    for name in PRIVATE_FILES:
        _chmod(home / name, FILE_MODE)
    logs = home / LOG_FOLDER
    if _chmod(logs, FOLDER_MODE, folder=True):
        for entry in logs.iterdir():
            if entry.name.startswith("windflow.log"):
                _chmod(entry, FILE_MODE)


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (its ``-wal`` and ``-shm`` files take
    the database file's mode), and tighten one that exists with its companions. A place
    where it cannot be made is left for the database to report in its own words."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    except OSError:
        return
    _chmod(path, FILE_MODE)
    for suffix in SQLITE_COMPANIONS:
        _chmod(path.with_name(path.name + suffix), FILE_MODE)


def exposed_settings_notice(path: Path) -> str | None:
    """A warning for people when ``path`` can be read or written by other users."""
    try:
        info = path.stat()
    except OSError:
        return None
    if not info.st_mode & 0o077:
        return None
    return (f"the settings file {path} can be read by other users of this computer, and "
            f"it may hold a database password: make it private (chmod 600 {path})")


def _chmod(path: Path, mode: int, *, folder: bool = False) -> bool:
    """``chmod path mode`` when it is ours and of the expected kind; True when it is."""
    try:
        info = path.lstat()
    except OSError:
        return False
    kind_ok = stat.S_ISDIR(info.st_mode) if folder else stat.S_ISREG(info.st_mode)
    if not kind_ok or info.st_uid != os.geteuid():
        return False
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)
    return True

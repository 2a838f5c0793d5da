"""Settings: defaults < settings file < environment, and clear errors for bad values."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.config import unwritable_home
from windflow_desktop.config import load_settings
from windflow_desktop.domain.errors import ConfigurationError


def test_defaults_put_everything_in_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings({"WINDFLOW_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}"
    assert settings.redis_url is None
    assert settings.log_level == "INFO"
    assert settings.log_dir == tmp_path / "logs"


def test_file_overrides_defaults_and_environment_overrides_file(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        'log_level = "debug"\nredis_url = "redis://127.0.0.1:6390/0"\n'
        'database_url = "postgresql://wf@db.example:5432/wf"\n'
    )
    from_file = load_settings({"WINDFLOW_HOME": str(tmp_path)})
    assert from_file.log_level == "DEBUG"
    assert from_file.redis_url == "redis://127.0.0.1:6390/0"
    assert from_file.database_url == "postgresql+asyncpg://wf@db.example:5432/wf"

    from_env = load_settings(
        {
            "WINDFLOW_HOME": str(tmp_path),
            "WINDFLOW_LOG_LEVEL": "warning",
            "WINDFLOW_DATABASE_URL": "sqlite:///" + str(tmp_path / "other.db"),
        }
    )
    assert from_env.log_level == "WARNING"
    assert from_env.database_url == f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    assert from_env.redis_url == "redis://127.0.0.1:6390/0"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"WINDFLOW_LOG_LEVEL": "loud"}, "WINDFLOW_LOG_LEVEL must be one of"),
        ({"WINDFLOW_DATABASE_URL": "mysql://x/y"}, "unsupported scheme 'mysql'"),
        ({"WINDFLOW_REDIS_URL": "localhost:6379"}, "WINDFLOW_REDIS_URL must start with"),
        ({"WINDFLOW_HEALTH_INTERVAL_S": "soon"}, "number of seconds"),
    ],
)
def test_bad_environment_values_say_what_to_fix(
    tmp_path: Path, env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        load_settings({"WINDFLOW_HOME": str(tmp_path), **env})


def test_corrupt_settings_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("log_level = [unclosed\n")
    with pytest.raises(ConfigurationError, match=r"settings.toml is not valid TOML"):
        load_settings({"WINDFLOW_HOME": str(tmp_path)})


def test_unknown_keys_in_settings_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('databse_url = "sqlite:///x.db"\n')
    with pytest.raises(ConfigurationError, match="unknown keys: databse_url"):
        load_settings({"WINDFLOW_HOME": str(tmp_path)})


def test_unwritable_data_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not writable"):
        load_settings({"WINDFLOW_HOME": str(unwritable_home(tmp_path))})


def as_unprivileged(check: Callable[[], None]) -> None:
    """Run ``check`` in this process, or, as root (CI), in a forked child that dropped to
    ``nobody`` first: root writes through permission bits, an ordinary user does not.
    The child's failure (its assertion text) fails the test."""
    if os.geteuid() != 0:
        check()
        return
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            check()
        except BaseException as exc:  # reported to the parent
            os.write(write_end, f"{type(exc).__name__}: {exc}".encode()[:4000])
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report


def test_read_only_data_folder_is_refused() -> None:
    home = Path(tempfile.mkdtemp(prefix="wf-ro-"))  # reachable by an unprivileged user
    try:
        home.chmod(0o755)
        (home / "ro").mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(home / "ro", nobody.pw_uid, nobody.pw_gid)
        (home / "ro").chmod(0o500)

        def refused() -> None:
            assert os.geteuid() != 0, "still root: the check would prove nothing"
            with pytest.raises(ConfigurationError, match="is not writable"):
                load_settings({"WINDFLOW_HOME": str(home / "ro")})

        as_unprivileged(refused)
    finally:
        (home / "ro").chmod(0o700)
        shutil.rmtree(home, ignore_errors=True)

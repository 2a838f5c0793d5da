"""Settings: defaults < ``settings.toml`` in the data folder < environment variables.

Everything here is cheap to import (no Qt, no database) so that bad settings are
reported before anything heavy starts.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .domain.errors import ConfigurationError
from .private_files import FOLDER_MODE, exposed_settings_notice, make_private

APP_NAME = "WindFlow Desktop"
SETTINGS_FILE = "settings.toml"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FILE_KEYS = {"database_url", "redis_url", "log_level", "health_interval_s", "idle_lock_s",
              "updates_interval_s", "access_token_ttl_s"}
IDLE_LOCK_S = 8 * 3600.0  # an idle window asks for the password again after 8 hours
UPDATES_INTERVAL_S = 6 * 3600.0  # how often the running images are checked for updates
ACCESS_TOKEN_TTL_S = 900.0  # a session's access token lives 15 minutes (then refreshed)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    redis_url: str | None
    log_level: str
    health_interval_s: float = 30.0
    # Warnings for people found while loading (a settings file others can read); the
    # window shows them and the log keeps them.
    notices: tuple[str, ...] = ()
    idle_lock_s: float = IDLE_LOCK_S
    updates_interval_s: float = UPDATES_INTERVAL_S
    access_token_ttl_s: float = ACCESS_TOKEN_TTL_S

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("windflow-desktop", appauthor=False))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings, making sure the data folder exists, is writable and private."""
    env = os.environ if environ is None else environ
    home = Path(env["WINDFLOW_HOME"]).expanduser() if env.get("WINDFLOW_HOME") else default_home()
    _prepare_home(home)
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{home / 'workspace.db'}",
        "redis_url": None,
        "log_level": "INFO",
        "health_interval_s": 30.0,
        "idle_lock_s": IDLE_LOCK_S,
        "updates_interval_s": UPDATES_INTERVAL_S,
        "access_token_ttl_s": ACCESS_TOKEN_TTL_S,
    }
    values.update(_read_settings_file(home / SETTINGS_FILE))
    exposed = exposed_settings_notice(home / SETTINGS_FILE)
    for key in sorted(_FILE_KEYS):
        raw = env.get(f"WINDFLOW_{key.upper()}")
        if raw:
            values[key] = raw
    return Settings(
        home=home,
        database_url=_check_database_url(str(values["database_url"])),
        redis_url=_check_redis_url(values["redis_url"]),
        log_level=_check_log_level(str(values["log_level"])),
        health_interval_s=_seconds(values["health_interval_s"], "WINDFLOW_HEALTH_INTERVAL_S"),
        notices=(exposed,) if exposed else (),
        idle_lock_s=_seconds(values["idle_lock_s"], "WINDFLOW_IDLE_LOCK_S",
                             f"; the default is {IDLE_LOCK_S:.0f} (8 hours)"),
        updates_interval_s=_seconds(values["updates_interval_s"], "WINDFLOW_UPDATES_INTERVAL_S",
                                    f"; the default is {UPDATES_INTERVAL_S:.0f} (6 hours)"),
        access_token_ttl_s=_seconds(values["access_token_ttl_s"],
                                    "WINDFLOW_ACCESS_TOKEN_TTL_S",
                                    f"; the default is {ACCESS_TOKEN_TTL_S:.0f} (15 minutes)"),
    )


def _prepare_home(home: Path) -> None:
    try:
        home.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        make_private(home)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigurationError(
            f"the data folder {home} is not writable ({reason}); "
            "fix its permissions or set WINDFLOW_HOME to another folder"
        ) from exc


def _read_settings_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"the settings file {path} is not valid TOML ({exc}); fix or delete it"
        ) from exc
    except OSError as exc:
        raise ConfigurationError(f"the settings file {path} cannot be read ({exc})") from exc
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ConfigurationError(
            f"the settings file {path} has unknown keys: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_FILE_KEYS))})"
        )
    return data


def _check_database_url(url: str) -> str:
    from urllib.parse import urlsplit

    scheme = urlsplit(url).scheme
    if scheme.startswith("sqlite"):
        return url.replace("sqlite://", "sqlite+aiosqlite://", 1) if scheme == "sqlite" else url
    if scheme.startswith("postgresql"):
        return url.replace(scheme + "://", "postgresql+asyncpg://", 1)
    raise ConfigurationError(
        f"WINDFLOW_DATABASE_URL has an unsupported scheme {scheme!r}: "
        "use sqlite:///path/to/file.db or postgresql://user@host:port/dbname"
    )


def _check_redis_url(url: object) -> str | None:
    if url in (None, ""):
        return None
    text = str(url)
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            "WINDFLOW_REDIS_URL must start with redis://, rediss:// or unix:// "
            f"(got {text!r}); leave it unset for the in-process event bus"
        )
    return text


def _check_log_level(level: str) -> str:
    name = level.strip().upper()
    if name not in LOG_LEVELS:
        raise ConfigurationError(
            f"WINDFLOW_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {level!r})"
        )
    return name


def _seconds(value: object, variable: str, hint: str = "") -> float:
    """``value`` as a number of seconds >= 1, else a ``ConfigurationError`` naming
    ``variable``."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if seconds < 1:
        raise ConfigurationError(
            f"{variable} must be a number of seconds >= 1 (got {value!r}){hint}")
    return seconds


def log_level_number(settings: Settings) -> int:
    return int(getattr(logging, settings.log_level))



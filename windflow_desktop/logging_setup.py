"""Named loggers (``windflow.<area>``), a private rotating file in the data folder, and
secret redaction (``security/redaction.py``) on every line."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .security.redaction import KNOWN_SECRETS, redact

if TYPE_CHECKING:
    from .config import Settings

ROOT_LOGGER = "windflow"
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log and each new file after a rotation are 0600 whatever the umask."""

    def _open(self) -> Any:
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)
        return stream


class RedactingFormatter(logging.Formatter):
    """Secrets found by their shape, and the secret values of the deployments running in
    this process, never reach a log line."""

    def format(self, record: logging.LogRecord) -> str:
        return KNOWN_SECRETS.mask(redact(super().format(record)))


class ConsoleFormatter(RedactingFormatter):
    """One line per record on the terminal; tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


def configure_logging(log_dir: Path, level: int, *, console: bool = True) -> Path:
    """Send ``windflow.*`` records at ``level`` and libraries' warnings (SQLAlchemy,
    asyncssh, redis, …) to ``log_dir/windflow.log`` (rotated), and warnings to stderr
    as one line each. Calling it again replaces what an earlier call installed."""
    log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = log_dir / "windflow.log"
    python_root = logging.getLogger()
    for handler in list(python_root.handlers):
        if getattr(handler, "windflow", False):
            python_root.removeHandler(handler)
            handler.close()
    file_handler = PrivateRotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8", delay=True
    )
    file_handler.setFormatter(RedactingFormatter(_FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(ConsoleFormatter(_FORMAT))
        stream.setLevel(max(level, logging.WARNING))
        handlers.append(stream)
    for handler in handlers:
        handler.windflow = True  # type: ignore[attr-defined]
        python_root.addHandler(handler)
    python_root.setLevel(logging.WARNING)  # libraries: warnings and worse
    logging.getLogger(ROOT_LOGGER).setLevel(level)  # ours: as configured
    return path


def start_process(prog: str) -> Settings | None:
    """A command's first steps: a private umask, the settings, the file log. On bad
    settings or an unwritable log, one line on stderr saying what to fix, and None."""
    from .config import load_settings, log_level_number
    from .domain.errors import ConfigurationError
    from .private_files import restrict_umask

    restrict_umask()  # before the first file: the data folder is the user's alone
    try:
        settings = load_settings()
        configure_logging(settings.log_dir, log_level_number(settings))
    except ConfigurationError as exc:
        print(f"{prog}: {exc.message}", file=sys.stderr)
        return None
    except OSError as exc:
        print(f"{prog}: cannot write the log file ({exc})", file=sys.stderr)
        return None
    return settings

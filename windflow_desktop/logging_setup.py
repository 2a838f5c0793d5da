"""Named loggers (``windflow.<area>``), a rotating file in the data folder, secret redaction."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

ROOT_LOGGER = "windflow"
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Bearer tokens, JWTs and key=value secrets never reach a log line.
_PATTERNS = [
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
    re.compile(r"(?i)\b(password|passphrase|secret|token|api_key)(\s*[=:]\s*)\S+"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(@)"),
]


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(r"\1[redacted]", text)
    text = _PATTERNS[1].sub("[redacted-jwt]", text)
    text = _PATTERNS[2].sub(r"\1\2[redacted]", text)
    return _PATTERNS[3].sub(r"\1[redacted]\2", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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
    """Send ``windflow.*`` records to ``log_dir/windflow.log`` (rotated) and to stderr."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "windflow.log"
    root = logging.getLogger(ROOT_LOGGER)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8", delay=True
    )
    file_handler.setFormatter(RedactingFormatter(_FORMAT))
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(ConsoleFormatter(_FORMAT))
        stream.setLevel(max(level, logging.WARNING))
        root.addHandler(stream)
    root.setLevel(level)
    root.propagate = False
    return path

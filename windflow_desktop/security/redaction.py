"""Secrets out of texts that get written down: log files, stored deployment logs, errors.

Two kinds of masking. ``redact`` finds secrets by their shape: bearer tokens, JWTs,
``<anything>password=…``/``"api-key": "…"``-style pairs (environment variables, JSON,
YAML, query strings), and the password of a URL (``redis://:pw@host``). ``mask`` replaces
values known to be secret (a deployment's secret variables); ``KNOWN_SECRETS`` holds the
values of the deployments running in this process, so that the file log masks them too
(``KNOWN_SECRETS.registered(values)`` while a deployment runs).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

MASK = "********"
MIN_SECRET_LENGTH = 4  # shorter values are too common to mask without mangling text

# A name that says "secret": the word may sit anywhere in it (POSTGRES_PASSWORD,
# db.password, x-api-key, AWS_SECRET_ACCESS_KEY, refresh_token).
SECRET_NAME = (r"[A-Za-z0-9_.\-]*(?:passw(?:or)?d|passphrase|secret|token|api[_\-]?key|"
               r"access[_\-]?key|private[_\-]?key|credential|authorization)[A-Za-z0-9_.\-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# name, an optional closing quote, = or :, then a quoted value (spaces allowed) or a bare
# one (up to a space, a quote, or a separator of lists and query strings).
_PAIR = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.\-])({SECRET_NAME})([\"']?\s*[=:]\s*)"
    r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&}\]]+)")
_SECRET_NAME = re.compile(rf"(?i){SECRET_NAME}")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+(@)")


def redact(text: str) -> str:
    """``text`` with every secret found by its shape replaced by ``[redacted]``."""
    text = _BEARER.sub(r"\1[redacted]", text)
    text = _JWT.sub("[redacted-jwt]", text)
    text = _PAIR.sub(_pair_redacted, text)
    return _URL_PASSWORD.sub(r"\1[redacted]\2", text)


def _pair_redacted(match: re.Match[str]) -> str:
    value = match.group(0)[len(match.group(1)) + len(match.group(2)):]
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group(1)}{match.group(2)}{quote}[redacted]{quote}"


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every value of ``secrets`` (of 4 characters or more) masked; the
    longest first, so a value that contains another is masked whole."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, MASK)
    return text


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret (``DB_PASSWORD``, ``API_KEY``)."""
    return _SECRET_NAME.fullmatch(name) is not None


def mask_environment(entries: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """``NAME=value`` entries with the value masked when the name says secret, and every
    known secret value masked wherever it appears."""
    known = tuple(secrets)
    out = []
    for entry in entries:
        name, sep, value = entry.partition("=")
        if sep and value and is_secret_name(name):
            out.append(f"{name}={MASK}")
        else:
            out.append(mask(entry, known))
    return out


def mask_tree(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every known secret value
    masked in its strings (keys included)."""
    known = tuple(secrets)
    if isinstance(value, str):
        return mask(value, known)
    if isinstance(value, dict):
        return {mask_tree(k, known): mask_tree(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_tree(v, known) for v in value]
    return value


class KnownSecrets:
    """Secret values the whole process masks in its log, registered by who holds them
    (counted: two deployments may share a value, the first to end must not unmask it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._values: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> list[str]:
        """Register ``values``; returns those registered (to ``remove`` them later)."""
        added = [v for v in values if len(v) >= MIN_SECRET_LENGTH]
        with self._lock:
            self._counts.update(added)
            self._values = tuple(self._counts)
        return added

    def remove(self, values: Iterable[str]) -> None:
        with self._lock:
            self._counts.subtract(values)
            self._counts = +self._counts  # drop the ones no holder has any more
            self._values = tuple(self._counts)

    @contextmanager
    def registered(self, values: Iterable[str]) -> Iterator[None]:
        added = self.add(values)
        try:
            yield
        finally:
            self.remove(added)

    def values(self) -> tuple[str, ...]:
        return self._values

    def mask(self, text: str) -> str:
        return mask(text, self._values) if self._values else text


KNOWN_SECRETS = KnownSecrets()

"""Secrets out of texts that get written down: log files, stored deployment logs, errors.

Two kinds of masking. ``redact`` finds secrets by their shape: bearer tokens, JWTs,
``<anything>password=…``/``"api-key": "…"``-style pairs (environment variables, JSON,
YAML, query strings), and the password of a URL (``redis://:pw@host``).
``domain.masking.mask`` replaces values known to be secret (a deployment's secret
variables); ``KNOWN_SECRETS`` holds the values of the deployments running in this
process, so that the file log masks them too
(``KNOWN_SECRETS.registered(values)`` while a deployment runs).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..domain.masking import MASK, MIN_SECRET_LENGTH, mask

# A name that says "secret": the word may sit anywhere in it (POSTGRES_PASSWORD,
# db.password, x-api-key, AWS_SECRET_ACCESS_KEY, refresh_token).
_SECRET_WORD = re.compile(r"(?i)passw(?:or)?d|passphrase|secret|token|api[_\-]?key|"
                          r"access[_\-]?key|private[_\-]?key|credential|authorization")
# Every pattern is linear in the text (possessive runs that start only where a run
# starts): a log line may be megabytes of one word.
_NAME_CHARS = r"A-Za-z0-9_.\-"
_BEARER = re.compile(r"(?i)\b(bearer\s++)[A-Za-z0-9._~+/=-]++")
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*+\.[A-Za-z0-9_-]++\.[A-Za-z0-9_-]++")
# A name right before = or : (after an optional closing quote) …
_NAME = re.compile(rf"(?<![{_NAME_CHARS}])[{_NAME_CHARS}]++(?=[\"']?[ \t]*+[=:])")
# … and its value: quoted (spaces allowed), or bare up to a space, a quote or a
# separator of lists and query strings.
_VALUE = re.compile(r"[\"']?[ \t]*+[=:][ \t]*+(\"[^\"\n]*+\"|'[^'\n]*+'|[\"']?[^\s\"',;&}\]]++)")
_URL_PASSWORD = re.compile(
    r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*+://[^:/@\s]*+:)[^@\s/]++(?=@)")


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret (``DB_PASSWORD``, ``API_KEY``)."""
    return _SECRET_WORD.search(name) is not None and \
        re.fullmatch(rf"[{_NAME_CHARS}]+", name) is not None


def redact(text: str) -> str:
    """``text`` with every secret found by its shape replaced by ``[redacted]``."""
    text = _BEARER.sub(r"\1[redacted]", text)
    text = _JWT.sub("[redacted-jwt]", text)
    text = _redact_pairs(text)
    return _URL_PASSWORD.sub(r"\1[redacted]", text)


def _redact_pairs(text: str) -> str:
    out: list[str] = []
    done = 0
    for name in _NAME.finditer(text):
        if name.start() < done or not _SECRET_WORD.search(name.group()):
            continue
        value = _VALUE.match(text, name.end())
        if value is None:
            continue
        raw = value.group(1)
        quote = raw[0] if raw[0] in "'\"" else ""
        closing = quote if len(raw) > 1 and raw.endswith(quote) else ""
        out.append(f"{text[done:value.start(1)]}{quote}[redacted]{closing}")
        done = value.end()
    out.append(text[done:])
    return "".join(out)


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

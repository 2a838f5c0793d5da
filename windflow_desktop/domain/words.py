"""Words shown to people: counts with the right plural and enum values as words.

One place, so "1 services" and "rolled_back" cannot come back in a new message."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "service")`` → "1 service"; ``plural(2, "service")`` → "2 services";
    ``many`` is the plural when it is not ``noun + "s"``."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def words(value: Enum | str) -> str:
    """An enum value (or a raw key) as words: ``rolled_back`` → "rolled back"."""
    text = value.value if isinstance(value, Enum) else value
    return str(text).replace("_", " ")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """"just now", "5 min ago", "3 h ago", or the local date and time; "never" for None."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def seconds_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """Like ``ago`` but to the second within the first minute ("12 s ago"): for
    heartbeats, which come every few seconds."""
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
        if 0 <= seconds < 60:
            return f"{seconds} s ago"
    return ago(moment, now)

"""Words shown to people: counts with the right plural and enum values as words.

One place, so "1 services" and "rolled_back" cannot come back in a new message."""

from __future__ import annotations

from enum import Enum


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "service")`` → "1 service"; ``plural(2, "service")`` → "2 services";
    ``many`` is the plural when it is not ``noun + "s"``."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def words(value: Enum | str) -> str:
    """An enum value (or a raw key) as words: ``rolled_back`` → "rolled back"."""
    text = value.value if isinstance(value, Enum) else value
    return str(text).replace("_", " ")
